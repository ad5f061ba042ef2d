/* STUB: to be written. */
typedef int tg__stub_layers_nn;
