/* STUB: to be written. */
typedef int tg__stub_linear_ops;
