/* STUB: to be written. */
typedef int tg__stub_optim_optim;
