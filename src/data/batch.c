/* STUB: to be written. */
typedef int tg__stub_batch_data;
