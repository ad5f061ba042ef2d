/* STUB: to be written. */
typedef int tg__stub_loss_ops;
