/* STUB: to be written. */
typedef int tg__stub_clip_optim;
