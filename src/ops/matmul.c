/* src/ops/matmul.c: the matrix product, 2-D and batched 3-D.
 *
 * [m,k] @ [k,n] -> [m,n]; [B,m,k] @ [B,k,n] -> [B,m,n]. An operand that is 2-D or has
 * a batch of 1 broadcasts over the other's batch. Every product is a call to tgk_gemm
 * with the transposes folded into it (nothing is copied or transposed in memory), and
 * every gradient is accumulated straight into the input's gradient buffer (beta = 1).
 *
 * When b is shared by the whole batch (2-D, or a batch of 1), [B,m,k] @ [k,n] is ONE
 * gemm of [B*m,k] @ [k,n] (a's batch is contiguous), and so are both gradients; in
 * particular db = A_flat^T @ dC_flat sums over the batch inside the product. */
#include <limits.h>

#include "ops.h"
#include "../kernels/gemm.h"

/* The product's dimensions: a is [ba,m,k], b is [bb,k,n], the output [batch,m,n];
 * ba and bb are 1 for a 2-D operand. */
typedef struct mm_dims {
    int64_t batch, ba, bb;
    int m, k, n;
} mm_dims;

static mm_dims dims_of(const tg_tensor *a, const tg_tensor *b) {
    mm_dims d;
    const int *as = a->shape + (a->ndim - 2), *bs = b->shape + (b->ndim - 2);
    d.ba = a->ndim == 3 ? a->shape[0] : 1;
    d.bb = b->ndim == 3 ? b->shape[0] : 1;
    d.batch = d.ba == 1 ? d.bb : d.ba;
    d.m = as[0];
    d.k = as[1];
    d.n = bs[1];
    return d;
}

/* True when b is shared by the whole batch and a's batch folds into its rows: the
 * product (and both gradients) is then one gemm with batch*m rows. */
static bool flat(const mm_dims *d) { return d->bb == 1 && d->batch * d->m <= INT_MAX; }

/* ---- matmul: C = A @ B; dA += dC @ B^T, dB += A^T @ dC -------------------------- */
static void matmul_backward(tg_node *n) {
    tg_tensor *a = n->in[0], *b = n->in[1], *c = n->out;
    const mm_dims d = dims_of(a, b);
    const int64_t sa = (int64_t)d.m * d.k, sb = (int64_t)d.k * d.n, sc = (int64_t)d.m * d.n;
    const tg_real *dc = c->grad;
    if (tg__needs_grad(a)) {
        tg_real *da = tg__grad_buf(a);
        if (!da) return;
        if (flat(&d)) { /* dA[batch*m,k] += dC[batch*m,n] @ B^T */
            tgk_gemm(false, true, (int)(d.batch * d.m), d.k, d.n, 1, dc, d.n, b->data, d.n, 1, da,
                     d.k);
        } else { /* dA_i += dC_i @ B_i^T, summed over i where A is broadcast */
            for (int64_t i = 0; i < d.batch; i++)
                tgk_gemm(false, true, d.m, d.k, d.n, 1, dc + i * sc, d.n,
                         b->data + (d.bb == 1 ? 0 : i) * sb, d.n, 1, da + (d.ba == 1 ? 0 : i) * sa,
                         d.k);
        }
    }
    if (tg__needs_grad(b)) {
        tg_real *db = tg__grad_buf(b);
        if (!db) return;
        if (flat(&d)) { /* dB[k,n] += A[batch*m,k]^T @ dC[batch*m,n] */
            tgk_gemm(true, false, d.k, d.n, (int)(d.batch * d.m), 1, a->data, d.k, dc, d.n, 1, db,
                     d.n);
        } else { /* dB_i += A_i^T @ dC_i, summed over i where B is broadcast */
            for (int64_t i = 0; i < d.batch; i++)
                tgk_gemm(true, false, d.k, d.n, d.m, 1, a->data + (d.ba == 1 ? 0 : i) * sa, d.k,
                         dc + i * sc, d.n, 1, db + (d.bb == 1 ? 0 : i) * sb, d.n);
        }
    }
}
const tg_op tg__op_matmul = {"matmul", matmul_backward};

TG_API tg_tensor *tg_matmul(tg_graph *g, tg_tensor *a, tg_tensor *b) {
    if (!TG_BEGIN(g, "matmul", a, b)) return NULL;
    char sa[TG_SHAPE_STR], sb[TG_SHAPE_STR];
    if (a->ndim < 2 || a->ndim > 3 || b->ndim < 2 || b->ndim > 3) {
        tg__fail(g, TG_ERR_SHAPE, "matmul: operands must be 2-D or 3-D, got %s @ %s",
                 TG_SHAPE(a, sa), TG_SHAPE(b, sb));
        return NULL;
    }
    const mm_dims d = dims_of(a, b);
    if (d.k != b->shape[b->ndim - 2]) {
        tg__fail(g, TG_ERR_SHAPE, "matmul: inner dimensions differ: %s @ %s", TG_SHAPE(a, sa),
                 TG_SHAPE(b, sb));
        return NULL;
    }
    if (d.ba != d.bb && d.ba != 1 && d.bb != 1) {
        tg__fail(g, TG_ERR_SHAPE, "matmul: batch dimensions differ: %s @ %s", TG_SHAPE(a, sa),
                 TG_SHAPE(b, sb));
        return NULL;
    }
    tg_tensor *c;
    if (a->ndim == 2 && b->ndim == 2)
        c = tg__tensor_make(g, "matmul", 2, (int[]){d.m, d.n});
    else
        c = tg__tensor_make(g, "matmul", 3, (int[]){(int)d.batch, d.m, d.n});
    if (!c) return NULL;

    if (flat(&d)) { /* C[batch*m,n] = A[batch*m,k] @ B[k,n] */
        tgk_gemm(false, false, (int)(d.batch * d.m), d.n, d.k, 1, a->data, d.k, b->data, d.n, 0,
                 c->data, d.n);
    } else { /* C_i = A_i @ B_i, where a batch of 1 stands for every i */
        const int64_t stra = (int64_t)d.m * d.k, strb = (int64_t)d.k * d.n;
        for (int64_t i = 0; i < d.batch; i++)
            tgk_gemm(false, false, d.m, d.n, d.k, 1, a->data + (d.ba == 1 ? 0 : i) * stra, d.k,
                     b->data + (d.bb == 1 ? 0 : i) * strb, d.n, 0, c->data + i * (int64_t)d.m * d.n,
                     d.n);
    }
    tg__record(g, &tg__op_matmul, c, 2, (tg_tensor *[]){a, b});
    return tg__failed(g) ? NULL : c;
}
