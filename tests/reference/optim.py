#!/usr/bin/python3
"""Reference numbers for tests/test_optim.c, from PyTorch (written with 1.13).

Regenerate with
    /usr/bin/python3 tests/reference/optim.py > /tmp/optim_ref.h
and paste the output over the block between the "BEGIN REFERENCE" and "END REFERENCE"
markers in tests/test_optim.c. The tests never run this script (they need neither
Python nor PyTorch); it only documents where the numbers come from.

Everything runs in float64 (the C test compares its double build to ~1e-9 and its float
build to ~1e-5). The inputs (initial values, gradients) are multiples of 1/64, exact in
float, so both builds start from exactly the numbers PyTorch used.

The problem: two parameters, "w" [2,3] and "b" [3], flattened as w then b (9 values);
REF_STEPS steps, each with a fixed gradient from ref_grads (set directly, no graph).
A case may freeze "b" at some steps: PyTorch then sees b.grad = None (b is skipped, its
state does not advance); the C test calls tg_set_requires_grad(b, false).
"""
import math
import warnings

import torch

warnings.filterwarnings("ignore")
torch.set_default_dtype(torch.float64)

STEPS = 6
N_W, N_B = 6, 3
N = N_W + N_B
gen = torch.Generator().manual_seed(1234)


def q64(t):
    """Rounds to a multiple of 1/64 (exact in float)."""
    return torch.round(t * 64) / 64


W0 = q64(torch.rand(N, generator=gen) * 4 - 2)
GRADS = q64(torch.randn(STEPS, N, generator=gen))
GRADS[3] = GRADS[3] / 8  # a step of small gradients: amsgrad's max matters afterwards
GRADS = q64(GRADS)


def fmt(x):
    if math.isnan(x):
        return "NAN"
    if math.isinf(x):
        return "INFINITY" if x > 0 else "-INFINITY"
    r = repr(float(x))
    return r if ("e" in r or "." in r) else r + ".0"


def arr(xs):
    return "{" + ", ".join(fmt(float(x)) for x in xs) + "}"


# ---- optimizers -----------------------------------------------------------------------

def run_optim(make, frozen_b=()):
    w = torch.nn.Parameter(W0[:N_W].clone().reshape(2, 3))
    b = torch.nn.Parameter(W0[N_W:].clone())
    opt = make([w, b])
    out = []
    for t in range(STEPS):
        w.grad = GRADS[t, :N_W].clone().reshape(2, 3)
        b.grad = None if t in frozen_b else GRADS[t, N_W:].clone()
        opt.step()
        out.append(torch.cat([w.detach().reshape(-1), b.detach()]).tolist())
    return out


O = torch.optim
CASES = [
    # label, kind, C options initialiser, torch constructor, frozen steps of b
    ("sgd", "sgd", ".sgd = {.lr = 0.1}", lambda p: O.SGD(p, lr=0.1), ()),
    ("sgd momentum", "sgd", ".sgd = {.lr = 0.1, .momentum = 0.9}",
     lambda p: O.SGD(p, lr=0.1, momentum=0.9), ()),
    ("sgd momentum dampening", "sgd", ".sgd = {.lr = 0.1, .momentum = 0.9, .dampening = 0.5}",
     lambda p: O.SGD(p, lr=0.1, momentum=0.9, dampening=0.5), ()),
    ("sgd nesterov", "sgd", ".sgd = {.lr = 0.05, .momentum = 0.8, .nesterov = true}",
     lambda p: O.SGD(p, lr=0.05, momentum=0.8, nesterov=True), ()),
    ("sgd momentum weight_decay", "sgd",
     ".sgd = {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1}",
     lambda p: O.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.1), ()),
    ("sgd momentum, b frozen first", "sgd", ".sgd = {.lr = 0.1, .momentum = 0.9}",
     lambda p: O.SGD(p, lr=0.1, momentum=0.9), (0, 1)),
    ("adam", "adam", ".adam = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}",
     lambda p: O.Adam(p, lr=0.01), ()),
    ("adam weight_decay", "adam",
     ".adam = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1}",
     lambda p: O.Adam(p, lr=0.01, weight_decay=0.1), ()),
    ("adam amsgrad", "adam",
     ".adam = {.lr = 0.05, .beta1 = 0.8, .beta2 = 0.9, .eps = 1e-6, .amsgrad = true}",
     lambda p: O.Adam(p, lr=0.05, betas=(0.8, 0.9), eps=1e-6, amsgrad=True), ()),
    ("adam, b frozen in the middle", "adam",
     ".adam = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}",
     lambda p: O.Adam(p, lr=0.01), (1, 2)),
    ("adamw", "adamw",
     ".adam = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01}",
     lambda p: O.AdamW(p, lr=0.01), ()),
    ("adamw weight_decay amsgrad", "adamw",
     ".adam = {.lr = 0.05, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.5,\n"
     "              .amsgrad = true}",
     lambda p: O.AdamW(p, lr=0.05, betas=(0.9, 0.95), weight_decay=0.5, amsgrad=True), ()),
    ("rmsprop", "rmsprop", ".rms = {.lr = 0.01, .alpha = 0.99, .eps = 1e-8}",
     lambda p: O.RMSprop(p, lr=0.01), ()),
    ("rmsprop centered", "rmsprop",
     ".rms = {.lr = 0.01, .alpha = 0.9, .eps = 1e-8, .centered = true}",
     lambda p: O.RMSprop(p, lr=0.01, alpha=0.9, centered=True), ()),
    ("rmsprop momentum", "rmsprop",
     ".rms = {.lr = 0.01, .alpha = 0.99, .eps = 1e-8, .momentum = 0.9}",
     lambda p: O.RMSprop(p, lr=0.01, momentum=0.9), ()),
    ("rmsprop centered momentum weight_decay", "rmsprop",
     ".rms = {.lr = 0.01, .alpha = 0.95, .eps = 1e-6, .weight_decay = 0.1, .momentum = 0.5,\n"
     "             .centered = true}",
     lambda p: O.RMSprop(p, lr=0.01, alpha=0.95, eps=1e-6, weight_decay=0.1, momentum=0.5,
                         centered=True), ()),
    ("adagrad", "adagrad", ".ada = {.lr = 0.1, .eps = 1e-10}",
     lambda p: O.Adagrad(p, lr=0.1), ()),
    ("adagrad lr_decay", "adagrad", ".ada = {.lr = 0.1, .lr_decay = 0.1, .eps = 1e-10}",
     lambda p: O.Adagrad(p, lr=0.1, lr_decay=0.1), ()),
    ("adagrad weight_decay initial_accumulator_value", "adagrad",
     ".ada = {.lr = 0.1, .weight_decay = 0.1, .initial_accumulator_value = 0.5,\n"
     "             .eps = 1e-10}",
     lambda p: O.Adagrad(p, lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5), ()),
    ("adagrad lr_decay, b frozen in the middle", "adagrad",
     ".ada = {.lr = 0.1, .lr_decay = 0.1, .eps = 1e-10}",
     lambda p: O.Adagrad(p, lr=0.1, lr_decay=0.1), (2, 3)),
]

# ---- schedules --------------------------------------------------------------------------
SCHED_STEPS = 30
BASE_LR = 0.1
METRICS = [1.0, 0.9, 0.85, 0.85, 0.849, 0.86, 0.84, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69, 0.71,
           0.72, 0.73, 0.74, 0.75, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
           float("nan")]
assert len(METRICS) == SCHED_STEPS


def run_sched(make, metric=False):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = O.SGD([p], lr=BASE_LR)
    s = make(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for t in range(SCHED_STEPS):
        opt.step()
        if metric:
            s.step(METRICS[t])
        else:
            s.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


L = O.lr_scheduler
SCHEDS = [
    # label, C constructor call (o is the optimizer), torch constructor, uses metrics
    ("step", "tg_sched_step_new(o, 3, 0.5)", lambda o: L.StepLR(o, 3, 0.5), False),
    ("exponential", "tg_sched_exponential_new(o, 0.9)", lambda o: L.ExponentialLR(o, 0.9),
     False),
    ("cosine", "tg_sched_cosine_new(o, 10, 0.001)",
     lambda o: L.CosineAnnealingLR(o, 10, 0.001), False),
    ("warmup", "tg_sched_warmup_new(o, 4, 0.25, NULL)",
     lambda o: L.LinearLR(o, start_factor=0.25, total_iters=4), False),
    ("warmup then cosine", "tg_sched_warmup_new(o, 5, 0.1, tg_sched_cosine_new(o, 15, 0))",
     lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
                                  L.CosineAnnealingLR(o, 15, 0.0)], milestones=[5]), False),
    ("warmup then step", "tg_sched_warmup_new(o, 3, 0.5, tg_sched_step_new(o, 4, 0.1))",
     lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.5, total_iters=3),
                                  L.StepLR(o, 4, 0.1)], milestones=[3]), False),
    ("plateau", "tg_sched_plateau_new(o, 0.5, 2, 1e-2, 1, 0.01)",
     lambda o: L.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=1e-2, cooldown=1,
                                   min_lr=0.01), True),
    ("plateau defaults", "tg_sched_plateau_new(o, 0.1, 10, 1e-4, 0, 0)",
     lambda o: L.ReduceLROnPlateau(o), True),
]

# ---- clipping ---------------------------------------------------------------------------
CLIP_G = q64(torch.randn(N, generator=gen) * 2)


def clip_norm(max_norm):
    w = torch.nn.Parameter(torch.zeros(2, 3))
    b = torch.nn.Parameter(torch.zeros(3))
    w.grad = CLIP_G[:N_W].clone().reshape(2, 3)
    b.grad = CLIP_G[N_W:].clone()
    norm = torch.nn.utils.clip_grad_norm_([w, b], max_norm)
    return float(norm), torch.cat([w.grad.reshape(-1), b.grad]).tolist()


def clip_value(v):
    w = torch.nn.Parameter(torch.zeros(2, 3))
    b = torch.nn.Parameter(torch.zeros(3))
    w.grad = CLIP_G[:N_W].clone().reshape(2, 3)
    b.grad = CLIP_G[N_W:].clone()
    torch.nn.utils.clip_grad_value_([w, b], v)
    return torch.cat([w.grad.reshape(-1), b.grad]).tolist()


def wrapped(xs, col, indent, width=100):
    """The numbers as a brace list starting at column col, continued at indent, every
    line at most width columns (with room for a closing "};" or "},")."""
    items = [fmt(float(x)) for x in xs]
    lines, cur, start = [], "{", col
    for i, it in enumerate(items):
        piece = it + ("," if i + 1 < len(items) else "}")
        if start + len(cur) + 1 + len(piece) + 2 > width and cur not in ("{", ""):
            lines.append(cur)
            cur, start = "", indent
        cur = cur + ("" if cur in ("{", "") else " ") + piece
    lines.append(cur)
    return ("\n" + " " * indent).join(lines)


def main():
    p = print
    p("/* BEGIN REFERENCE: generated by tests/reference/optim.py with PyTorch %s;"
      % torch.__version__)
    p(" * do not edit by hand. */")
    p("/* clang-format off */")
    p("#define REF_STEPS %d" % STEPS)
    p("#define REF_N %d /* w [2,3] then b [3] */" % N)
    p("#define REF_SCHED_STEPS %d" % SCHED_STEPS)
    p("#define REF_BASE_LR %s" % fmt(BASE_LR))
    p("typedef struct ref_optim {")
    p("    const char *label, *kind; /* kind: sgd adam adamw rmsprop adagrad */")
    p("    tg_sgd_opts sgd;")
    p("    tg_adam_opts adam; /* adam and adamw */")
    p("    tg_rmsprop_opts rms;")
    p("    tg_adagrad_opts ada;")
    p("    int frozen_b[REF_STEPS];           /* 1: b frozen at that step */")
    p("    double want[REF_STEPS][REF_N];     /* the values after each step */")
    p("} ref_optim;")
    p("typedef struct ref_sched {")
    p("    const char *label;")
    p("    bool metric;                        /* stepped with ref_metrics */")
    p("    double lr[REF_SCHED_STEPS + 1];     /* after construction, then after each step */")
    p("} ref_sched;")
    p("static const double ref_w0[REF_N] = %s;" % wrapped(W0, 36, 4))
    p("static const double ref_grads[REF_STEPS][REF_N] = {")
    for t in range(STEPS):
        p("    %s," % wrapped(GRADS[t], 4, 5))
    p("};")
    p("static const ref_optim ref_optims[] = {")
    for label, kind, copts, make, frozen in CASES:
        out = run_optim(make, frozen)
        mask = [1 if t in frozen else 0 for t in range(STEPS)]
        p("    {.label = \"%s\"," % label)
        p("     .kind = \"%s\"," % kind)
        p("     %s," % copts)
        p("     .frozen_b = {%s}," % ", ".join(str(m) for m in mask))
        p("     .want = {")
        for row in out:
            p("         %s," % wrapped(row, 9, 10))
        p("     }},")
    p("};")
    p("static const double ref_metrics[REF_SCHED_STEPS] = %s;" % wrapped(METRICS, 52, 4))
    p("static const ref_sched ref_scheds[] = {")
    for label, call, make, metric in SCHEDS:
        lrs = run_sched(make, metric)
        p("    /* %s */" % call)
        p("    {\"%s\", %s," % (label, "true" if metric else "false"))
        p("     %s}," % wrapped(lrs, 5, 6))
    p("};")
    p("static tg_sched *ref_sched_new(int i, tg_optim *o) {")
    p("    switch (i) {")
    for i, (label, call, make, metric) in enumerate(SCHEDS):
        p("    case %d: return %s;" % (i, call))
    p("    default: return NULL;")
    p("    }")
    p("}")
    n1, g1 = clip_norm(1.0)
    n2, g2 = clip_norm(100.0)
    assert abs(n1 - n2) < 1e-12
    p("static const double ref_clip_g[REF_N] = %s;" % wrapped(CLIP_G, 40, 4))
    p("static const double ref_clip_norm = %s; /* the norm before clipping */" % fmt(n1))
    p("/* clip_grad_norm_ with max_norm 1 and 100, clip_grad_value_ with 0.5 */")
    p("static const double ref_clip_norm_1[REF_N] = %s;" % wrapped(g1, 45, 4))
    p("static const double ref_clip_norm_100[REF_N] = %s;" % wrapped(g2, 47, 4))
    p("static const double ref_clip_value_05[REF_N] = %s;" % wrapped(clip_value(0.5), 47, 4))
    p("/* clang-format on */")
    p("/* END REFERENCE */")


if __name__ == "__main__":
    main()
