/* tapegrad/rnn.h: recurrent cells (a tanh RNN, an LSTM, a GRU) and their unrolling
 * over time.
 *
 * A cell is ordinary code over ops: each time step is built from tg_linear (both
 * matrix products), tg_slice (the gates), tg_sigmoid, tg_tanh, tg_mul, tg_add and
 * tg_sub, recorded on the tape like any other ops, so backpropagation through time is
 * plain tg_backward and no cell computes a gradient itself. Unrolling T steps
 * records T copies of the step; the tape holds the whole sequence until the next
 * tg_graph_reset (truncated BPTT: reset, and start the next chunk from the last
 * states' values copied into new leaf tensors).
 *
 * The parameters follow PyTorch's nn.RNNCell / nn.LSTMCell / nn.GRUCell exactly, so
 * weights move between the two by name and value (docs/rnn.md):
 *     "<prefix>.weight_ih"  [G*H, I]      "<prefix>.bias_ih"  [G*H]
 *     "<prefix>.weight_hh"  [G*H, H]      "<prefix>.bias_hh"  [G*H]
 * with G = 1 (tanh RNN), 4 (LSTM, gate rows in the order i, f, g, o) or 3 (GRU, rows
 * r, z, n), I the input size and H the hidden size; they start as PyTorch's do, every
 * element uniform in [-1/sqrt(H), 1/sqrt(H)], drawn from the store's generator in the
 * order above (weight_ih, weight_hh, bias_ih, bias_hh).
 *
 * The equations (x [B, I], h [B, H], c [B, H]; W_*x and W_*h the row blocks of
 * weight_ih and weight_hh, b_* those of the biases):
 *   tanh RNN  h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)
 *   LSTM      i = sigmoid(x W_ii^T + b_ii + h W_hi^T + b_hi)     (f, o likewise)
 *             g = tanh(x W_ig^T + b_ig + h W_hg^T + b_hg)
 *             c' = f * c + i * g,  h' = o * tanh(c')
 *   GRU       r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)     (z likewise)
 *             n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
 *             h' = (1 - z) * n + z * h
 *
 * Ownership: a cell struct is a plain value (copy it, keep it anywhere) whose tensors
 * belong to the tg_params store it was made in; the store must outlive the cell.
 * Everything a step or an unroll makes lives in the graph's arena.
 *
 * Errors follow the library's two rules. The _init functions (outside a graph) return
 * a tg_status and leave a message for tg_last_error(). Steps and unrolls record the
 * graph's first error, naming the cell and the shapes, and return NULL (e.g.
 * "lstm cell 'lstm': input x [32,65] should be [B,64]"); given a NULL input or a graph
 * already in error they return NULL at once, so a whole model needs one check at the
 * end. The one exception to "NULL input means failure" is the state: a NULL h (or c)
 * means zeros, as PyTorch's hx=None, when the graph is not in error.
 */
#ifndef TAPEGRAD_RNN_H
#define TAPEGRAD_RNN_H

#include "tapegrad/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The three cells share one layout; the gate count G tells them apart (1, 4, 3).
 * The fields may be read. A cell made by hand (fields set directly) is accepted when
 * its tensors have the shapes above; a NULL bias means no bias. */
typedef struct tg_rnn_cell {
    tg_tensor *weight_ih;         /* [H, I] */
    tg_tensor *weight_hh;         /* [H, H] */
    tg_tensor *bias_ih, *bias_hh; /* [H] each */
    int input_size, hidden_size;  /* I, H */
} tg_rnn_cell;

typedef struct tg_lstm_cell {
    tg_tensor *weight_ih;         /* [4H, I], rows i, f, g, o */
    tg_tensor *weight_hh;         /* [4H, H] */
    tg_tensor *bias_ih, *bias_hh; /* [4H] each */
    int input_size, hidden_size;
} tg_lstm_cell;

typedef struct tg_gru_cell {
    tg_tensor *weight_ih;         /* [3H, I], rows r, z, n */
    tg_tensor *weight_hh;         /* [3H, H] */
    tg_tensor *bias_ih, *bias_hh; /* [3H] each */
    int input_size, hidden_size;
} tg_gru_cell;

/* ---- making a cell -------------------------------------------------------------------
 * Adds the four parameters "<prefix>.weight_ih", ".weight_hh", ".bias_ih", ".bias_hh"
 * to p, initialises them from p's generator (tg_params_seed for a reproducible model)
 * and fills *cell. Returns TG_OK, or TG_ERR_NULL (cell, p or prefix NULL), TG_ERR_ARG
 * (input_size or hidden_size < 1, G * hidden_size too large, an empty or too long
 * prefix, one of the four names in use already), TG_ERR_NOMEM; then *cell is zeroed
 * and the store is unchanged (except that on running out of memory half way, some of
 * the parameters may have been added already). */
TG_API tg_status tg_rnn_cell_init(tg_rnn_cell *cell, tg_params *p, const char *prefix,
                                  int input_size, int hidden_size);
TG_API tg_status tg_lstm_cell_init(tg_lstm_cell *cell, tg_params *p, const char *prefix,
                                   int input_size, int hidden_size);
TG_API tg_status tg_gru_cell_init(tg_gru_cell *cell, tg_params *p, const char *prefix,
                                  int input_size, int hidden_size);

/* ---- one time step --------------------------------------------------------------------
 * x is [B, I]; h (and c) [B, H] or NULL for zeros. Returns h' [B, H]; the LSTM also
 * writes c' [B, H] to *c_out (required; set to NULL on error). Errors (the graph's):
 * cell NULL or not initialised, parameters of the wrong shapes, x not [B, I], h or c
 * not [B, H], c_out NULL. In no-grad mode (tg_graph_set_grad_enabled) nothing is
 * recorded: sampling from a trained model costs only the forward arithmetic. */
TG_API tg_tensor *tg_rnn_cell_step(tg_graph *g, const tg_rnn_cell *cell, tg_tensor *x,
                                   tg_tensor *h);
TG_API tg_tensor *tg_lstm_cell_step(tg_graph *g, const tg_lstm_cell *cell, tg_tensor *x,
                                    tg_tensor *h, tg_tensor *c, tg_tensor **c_out);
TG_API tg_tensor *tg_gru_cell_step(tg_graph *g, const tg_gru_cell *cell, tg_tensor *x,
                                   tg_tensor *h);

/* ---- a whole sequence -------------------------------------------------------------------
 * x is [T, B, I] (time first, as PyTorch's default), T >= 1; h0 (and c0) [B, H] or NULL
 * for zeros. Returns the outputs [T, B, H] (out[t] is the hidden state after step t)
 * and, when h_last (c_last) is not NULL, stores the final states [B, H] there (NULL
 * on error): feed them to the next chunk, or copy their values out before a reset.
 *
 * The result is the step function applied T times with tg_select(x, 0, t) as input
 * and the outputs joined by tg_stack, except that the input half of every step,
 * x_t W_ih^T + b_ih, is computed for all T steps by one tg_linear on x before the
 * loop (one large matrix product instead of T small ones; the same numbers). Errors as
 * for the steps, plus x not 3-D or T = 0. */
TG_API tg_tensor *tg_rnn_unroll(tg_graph *g, const tg_rnn_cell *cell, tg_tensor *x, tg_tensor *h0,
                                tg_tensor **h_last);
TG_API tg_tensor *tg_lstm_unroll(tg_graph *g, const tg_lstm_cell *cell, tg_tensor *x, tg_tensor *h0,
                                 tg_tensor *c0, tg_tensor **h_last, tg_tensor **c_last);
TG_API tg_tensor *tg_gru_unroll(tg_graph *g, const tg_gru_cell *cell, tg_tensor *x, tg_tensor *h0,
                                tg_tensor **h_last);

#ifdef __cplusplus
}
#endif
#endif
