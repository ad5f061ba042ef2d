/* STUB: to be written. */
typedef int tg__stub_dataset_data;
