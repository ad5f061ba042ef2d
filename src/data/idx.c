/* STUB: to be written. */
typedef int tg__stub_idx_data;
