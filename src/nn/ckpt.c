/* STUB: to be written. */
typedef int tg__stub_ckpt_nn;
