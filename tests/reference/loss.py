#!/usr/bin/python3
"""Golden values for tests/test_loss.c, computed by PyTorch in float64.

Regenerate (PyTorch 1.13, Debian python3-torch; no network, no GPU):

    /usr/bin/python3 tests/reference/loss.py > /tmp/golden.inc

and paste the output over the block between the "BEGIN GENERATED" and "END GENERATED"
lines of tests/test_loss.c. The output is deterministic: inputs are fixed below (every
value a multiple of 1/1024, so exactly representable in float too: the float build then
sees the very inputs PyTorch saw, and only its own rounding differs).

Each case is one loss with one reduction: its inputs, its value(s) and the gradients of
the value with respect to the input and the target. For TG_REDUCE_NONE the gradients are
those of sum(loss * up) for a fixed upstream gradient `up` (the test seeds backward with
it through tg_backward_from). A target gradient printed as NULL is not compared (class
labels; BCE at probs of exactly 0 or 1, where PyTorch's target gradient is infinite).
Identical arrays are declared once, under the name of the first case that uses them.
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

Q = 1024.0  # inputs are multiples of 1/Q


def q(values):
    return [round(v * Q) / Q for v in values]


def t(values, shape):
    return torch.tensor(q(values)).reshape(shape)


def c_doubles(name, values):
    body = ", ".join("%.17g" % v for v in values)
    return "static const double %s[] = {%s};" % (name, body)


LOSS = {  # Python name -> C enum of test_loss.c
    "mse": "L_MSE", "l1": "L_L1", "huber": "L_HUBER", "smooth_l1": "L_SMOOTH_L1",
    "bce": "L_BCE", "bce_logits": "L_BCE_LOGITS", "hinge": "L_HINGE",
    "ce": "L_CE", "nll": "L_NLL",
}
RED = {"mean": "TG_REDUCE_MEAN", "sum": "TG_REDUCE_SUM", "none": "TG_REDUCE_NONE"}

decls, rows = [], []
emitted = {}  # values -> the name of the array already holding them


def array(name, values):
    """Declares an array of values (once: identical inputs are shared) and returns its name."""
    key = tuple(values)
    if key not in emitted:
        emitted[key] = name
        decls.append(c_doubles(name, values))
    return emitted[key]


def emit(tag, loss, red, x, target, param=0.0, grad_target=True, labels=False):
    """One case: tag names its arrays, loss and red select the function."""
    x = x.clone().requires_grad_(True)
    if labels:
        tgt = target.clone()
    else:
        tgt = target.clone().requires_grad_(grad_target)
    r = red
    if loss == "mse":
        y = F.mse_loss(x, tgt, reduction=r)
    elif loss == "l1":
        y = F.l1_loss(x, tgt, reduction=r)
    elif loss == "huber":
        y = F.huber_loss(x, tgt, reduction=r, delta=param)
    elif loss == "smooth_l1":
        y = F.smooth_l1_loss(x, tgt, reduction=r, beta=param)
    elif loss == "bce":
        y = F.binary_cross_entropy(x, tgt, reduction=r)
    elif loss == "bce_logits":
        y = F.binary_cross_entropy_with_logits(x, tgt, reduction=r)
    elif loss == "hinge":  # binary hinge, max(0, 1 - t s); relu: gradient 0 at the kink
        per = torch.relu(1 - tgt * x)
        y = per.mean() if r == "mean" else per.sum() if r == "sum" else per
    elif loss == "ce":
        y = F.cross_entropy(x, tgt.long(), reduction=r, label_smoothing=param)
    elif loss == "nll":
        y = F.nll_loss(x, tgt.long(), reduction=r)
    else:
        raise ValueError(loss)
    up = None
    if r == "none":
        g = torch.Generator().manual_seed(len(decls) + 1)
        up = torch.tensor(q((torch.rand(y.shape, generator=g) * 4 - 2).flatten().tolist()))
        up = up.reshape(y.shape)
        (y * up).sum().backward()
    else:
        y.backward()
    name = "g_" + tag
    base = "g_" + tag.rsplit("_", 1)[0]  # the data set, shared by its reductions
    in_n = array(base + "_in", x.detach().flatten().tolist())
    tgt_n = array(base + "_tgt", target.flatten().tolist())
    val_n = array(name + "_val", y.detach().flatten().tolist())
    d0_n = array(name + "_d0", x.grad.flatten().tolist())
    d1_n = "NULL"
    if not labels and grad_target:
        d1_n = array(name + "_d1", tgt.grad.flatten().tolist())
    up_n = "NULL"
    if up is not None:
        up_n = array(name + "_up", up.flatten().tolist())
    shape = list(x.shape)
    rows.append('    {"%s", %s, %s, %.17g, %d, {%s}, %s, %s, %d, %s, %s, %s, %s},'
                % (tag, LOSS[loss], RED[red], param, len(shape), ", ".join(map(str, shape)),
                   in_n, tgt_n, y.numel(), val_n, up_n, d0_n, d1_n))


def all_reductions(tag, loss, x, target, **kw):
    for red in ("mean", "sum", "none"):
        emit(tag + "_" + red, loss, red, x, target, **kw)


# ---- regression: [2,3]; differences avoid 0 and +-delta (no kinks) ----
pred = t([0.5, -1.25, 2.0, 0.125, -0.75, 3.5], (2, 3))
target = t([0.25, 0.5, -1.0, 0.0, -0.5, 1.25], (2, 3))
all_reductions("mse", "mse", pred, target)
all_reductions("l1", "l1", pred, target)
all_reductions("huber1", "huber", pred, target, param=1.0)
all_reductions("huber05", "huber", pred, target, param=0.5)
emit("smoothl1_mean", "smooth_l1", "mean", pred, target, param=0.5)
emit("smoothl1_none", "smooth_l1", "none", pred, target, param=2.0)

# ---- binary classification ----
probs = t([0.125, 0.75, 0.5, 0.9, 0.0625, 0.33], (2, 3))
labels01 = t([0.0, 1.0, 1.0, 1.0, 0.0, 0.25], (2, 3))  # one soft label
all_reductions("bce", "bce", probs, labels01)
# exactly 0 and 1: the log is clamped at -100; the probs gradient is PyTorch's
# (p - t) / max(p (1 - p), 1e-12); the target gradient is infinite there (not compared)
edge = t([0.0, 0.0, 1.0, 1.0, 0.5, 0.0], (6,))
edge_t = t([0.0, 1.0, 0.0, 1.0, 1.0, 0.5], (6,))
all_reductions("bce_edge", "bce", edge, edge_t, grad_target=False)
logits = t([0.5, -2.0, 3.0, -0.25, 1.5, -4.0], (2, 3))
all_reductions("bcel", "bce_logits", logits, labels01)
big = t([1e4, -1e4, 1e4, -1e4, 30.0, -30.0], (6,))
big_t = t([1.0, 0.0, 0.0, 1.0, 0.0, 1.0], (6,))
all_reductions("bcel_big", "bce_logits", big, big_t)
scores = t([0.5, -2.0, 1.5, 0.25, -0.5, 3.0], (6,))
signs = t([1.0, -1.0, -1.0, 1.0, 1.0, -1.0], (6,))
all_reductions("hinge", "hinge", scores, signs)

# ---- multi-class: logits [4,5], labels ----
ce_x = t([0.5, -1.0, 2.0, 0.25, -0.5,
          1.5, 0.0, -2.5, 3.0, 0.75,
          -0.25, 0.125, 0.5, -1.75, 2.25,
          4.0, -3.0, 1.0, 0.0, -0.5], (4, 5))
ce_y = torch.tensor([2.0, 3.0, 0.0, 4.0])
all_reductions("ce", "ce", ce_x, ce_y, labels=True)
all_reductions("ce_ls", "ce", ce_x, ce_y, param=0.1, labels=True)
emit("ce_ls1_mean", "ce", "mean", ce_x, ce_y, param=1.0, labels=True)
ce_big = t([1e4, -1e4, 0.0, -1e4, 1e4, 0.0, 0.0, 1e4, -1e4], (3, 3))
ce_big_y = torch.tensor([1.0, 1.0, 0.0])
all_reductions("ce_big", "ce", ce_big, ce_big_y, labels=True)
emit("ce_big_ls_sum", "ce", "sum", ce_big, ce_big_y, param=0.2, labels=True)
logp = t([-1.5, -0.25, -3.0, -0.75, -2.0,
          -0.5, -1.25, -4.0, -0.125, -2.5,
          -3.5, -0.625, -1.0, -0.875, -0.375,
          -2.25, -1.75, -0.0625, -5.0, -1.125], (4, 5))
all_reductions("nll", "nll", logp, ce_y, labels=True)

# ---- penalties: two parameters ----
w1 = torch.tensor(q([0.5, -1.25, 2.0, -0.125, 0.75, -3.0]), requires_grad=True)  # [2,3]
w2 = torch.tensor(q([0.25, -0.5, 1.5]), requires_grad=True)                    # [3]
pen = []
for kind, lam in (("l1", 0.01), ("l2", 0.05)):
    w1.grad = None
    w2.grad = None
    if kind == "l1":
        v = lam * (w1.abs().sum() + w2.abs().sum())
    else:
        v = lam * ((w1 ** 2).sum() + (w2 ** 2).sum())
    v.backward()
    pen.append(c_doubles("g_%s_pen_val" % kind, [v.item()]))
    pen.append(c_doubles("g_%s_pen_d_w1" % kind, w1.grad.tolist()))
    pen.append(c_doubles("g_%s_pen_d_w2" % kind, w2.grad.tolist()))

print("/* ---- BEGIN GENERATED by tests/reference/loss.py (PyTorch %s, float64) ---- */"
      % torch.__version__)
print(c_doubles("g_pen_w1", w1.detach().tolist()))
print(c_doubles("g_pen_w2", w2.detach().tolist()))
print("\n".join(pen))
print("\n".join(decls))
print("static const golden GOLDEN[] = {")
print("\n".join(rows))
print("};")
print("/* ---- END GENERATED ---- */")
