/* src/kernels/vmath_body.h: the vector bodies of e^x, sigmoid and tanh, written once
 * and included by vmath.c once per instruction set, with the V_ macros naming that
 * set's vector type and operations and VFN the attributes of its functions. Both
 * copies thus make the same operations in the same order. (No include guard: meant to
 * be included more than once.) */

VFN vreal_t V_NAME(exp)(vreal_t x) {
    x = V_MIN(V_SET1(EXP_HI), V_MAX(V_SET1(EXP_LO), x)); /* NaN passes: see vmath.c */
    const vreal_t nf = V_ROUND(V_MUL(x, V_SET1(LOG2E)));
    vreal_t r = V_FNMADD(nf, V_SET1(LN2_C1), x);
    r = V_FNMADD(nf, V_SET1(LN2_C2), r);
    vreal_t p = V_SET1(EXP_P0);
    p = V_FMADD(p, r, V_SET1(EXP_P1));
    p = V_FMADD(p, r, V_SET1(EXP_P2));
    p = V_FMADD(p, r, V_SET1(EXP_P3));
    p = V_FMADD(p, r, V_SET1(EXP_P4));
    p = V_FMADD(p, r, V_SET1(EXP_P5));
    p = V_ADD(V_FMADD(p, V_MUL(r, r), r), V_SET1(1.0f));
    const vint_t ni = V_CVT_I(nf);
    const vint_t n1 = V_SRAI(ni, 1), n2 = V_SUB_I(ni, n1);
    const vint_t bias = V_SET1_I(127);
    const vreal_t s1 = V_CAST_R(V_SLLI(V_ADD_I(n1, bias), 23));
    const vreal_t s2 = V_CAST_R(V_SLLI(V_ADD_I(n2, bias), 23));
    return V_MUL(V_MUL(p, s1), s2);
}

VFN vreal_t V_NAME(sigmoid)(vreal_t x) {
    const vreal_t sign = V_SET1(-0.0f), one = V_SET1(1.0f);
    const vreal_t e = V_NAME(exp)(V_OR(x, sign)); /* e^-|x| */
    const vreal_t num = V_SELECT_GE(x, V_SET1(0.0f), one, e);
    return V_DIV(num, V_ADD(one, e));
}

VFN vreal_t V_NAME(tanh)(vreal_t x) {
    const vreal_t sign = V_SET1(-0.0f), one = V_SET1(1.0f);
    const vreal_t ax = V_ANDNOT(sign, x);
    const vreal_t z = V_MUL(x, x);
    vreal_t p = V_SET1(TANH_P0);
    p = V_FMADD(p, z, V_SET1(TANH_P1));
    p = V_FMADD(p, z, V_SET1(TANH_P2));
    p = V_FMADD(p, z, V_SET1(TANH_P3));
    p = V_FMADD(p, z, V_SET1(TANH_P4));
    const vreal_t small = V_FMADD(V_MUL(p, z), ax, ax);
    const vreal_t e = V_NAME(exp)(V_ADD(ax, ax));
    const vreal_t big = V_SUB(one, V_DIV(V_SET1(2.0f), V_ADD(e, one)));
    const vreal_t t = V_SELECT_GE(ax, V_SET1(TANH_SMALL), big, small);
    return V_OR(t, V_AND(x, sign));
}
