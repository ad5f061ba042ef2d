/* STUB: to be written. */
typedef int tg__stub_checkpoint_nn;
