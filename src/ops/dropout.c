/* STUB: to be written. */
typedef int tg__stub_dropout_ops;
