/* STUB: to be written. */
typedef int tg__stub_train_nn;
