/* STUB: to be written. */
typedef int tg__stub_sched_optim;
