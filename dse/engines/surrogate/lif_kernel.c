/* Fused LIF/IF time loop, forward and backward, for float32 CPU tensors.
 *
 * One call runs all T steps of a population of M = batch x neurons units, so a
 * training step costs two calls per layer instead of ~10 tensor operations per
 * timestep. Dynamics and gradients are those of dse/engines/surrogate/neurons.py
 * (LitE-SNN's LIF, reset detached from the graph):
 *
 *   u_t = decay * r_{t-1} + I_t        (u rounded onto the state grid if quantised)
 *   s_t = [u_t >= theta]
 *   r_t = hard ? u_t * (1 - s_t) : u_t - theta * s_t
 *
 *   dL/du_t = dL/ds_t * sg(u_t - theta) + m_t * decay * dL/du_{t+1},
 *   m_t = hard ? 1 - s_t : 1
 *
 * Layout: time-major [T][M]; every inner loop runs over contiguous units
 * without branches, so the compiler vectorises it. A constant input (direct
 * coding) is [M], read at every step through a pointer that does not advance;
 * a "rate" output is [M] = mean over t of s_t (what a linear readout needs),
 * and its gradient reaches every step alike.
 *
 * Written in C rather than as a torch extension because it builds in a fraction
 * of a second with any C compiler and needs no torch headers (see fused.py).
 */
#include <math.h>
#include <stdint.h>

#define RESTRICT __restrict__

enum { ROUND_NONE = 0, ROUND_TRUNCATE = 1, ROUND_NEAREST = 2, ROUND_STOCHASTIC = 3 };
enum { SG_ATAN = 0, SG_FAST_SIGMOID = 1, SG_DSPIKE = 2 };

static inline float clampf(float k, float lo, float hi) { return k < lo ? lo : (k > hi ? hi : k); }

/* One step of integrate (and round), fire, reset over all units. R(y) is the
 * rounding of y = u / delta - offset onto an integer code. */
#define LIF_STEP(ROUNDED)                                                           \
    for (int64_t i = 0; i < M; i++) {                                               \
        float u = decay * rest[i] + in[i];                                          \
        ROUNDED                                                                     \
        float s = u >= theta ? 1.0f : 0.0f;                                         \
        u_t[i] = u;                                                                 \
        s_t[i * s_step] = s;                                                        \
        acc[i] += s;                                                                \
        rest[i] = u - s * (hard ? u : theta);                                       \
    }

#define ROUND_WITH(R)                                                               \
    { float y = u * inv_delta - offset;                                             \
      u = (clampf(R, kmin, kmax) + offset) * delta; }

/* Forward. current: [T][M] or [M] (constant); spikes: [T][M] or NULL;
 * rate: [M] or NULL; membrane: [T][M], kept for the backward pass;
 * scratch: [2M]; noise: [T][M] uniform draws for stochastic rounding or NULL. */
void lif_forward(const float *RESTRICT current, int constant, int64_t T, int64_t M,
                 float decay, float theta, int hard,
                 int mode, float delta, float offset, float kmin, float kmax, const float *RESTRICT noise,
                 float *RESTRICT spikes, float *RESTRICT rate, float *RESTRICT membrane,
                 float *RESTRICT scratch) {
    float *RESTRICT rest = scratch;
    float *RESTRICT acc = rate ? rate : scratch + M;
    float inv_delta = 1.0f / delta;
    for (int64_t i = 0; i < M; i++) { rest[i] = 0.0f; acc[i] = 0.0f; }
    /* unit strides: 1 for per-unit data, 0 for "the same value at every unit" */
    int64_t s_step = spikes ? 1 : 0;
    int64_t in_step_t = constant ? 0 : M;
    float sink = 0.0f;
    for (int64_t t = 0; t < T; t++) {
        const float *RESTRICT in = current + t * in_step_t;
        float *RESTRICT u_t = membrane + t * M;
        float *RESTRICT s_t = spikes ? spikes + t * M : &sink;
        switch (mode) {
        case ROUND_TRUNCATE: LIF_STEP(ROUND_WITH(floorf(y))) break;
        case ROUND_NEAREST: LIF_STEP(ROUND_WITH(floorf(y + 0.5f))) break;
        case ROUND_STOCHASTIC: {
            const float *RESTRICT n_t = noise + t * M;
            LIF_STEP(ROUND_WITH(floorf(y + n_t[i])))
            break;
        }
        default:
            if (spikes) { LIF_STEP() } else {
                /* rate only: no spike train to write */
                for (int64_t i = 0; i < M; i++) {
                    float u = decay * rest[i] + in[i];
                    float s = u >= theta ? 1.0f : 0.0f;
                    u_t[i] = u;
                    acc[i] += s;
                    rest[i] = u - s * (hard ? u : theta);
                }
            }
        }
    }
    if (rate) {  /* divide, as a mean does: multiplying by 1/T would differ in the last bit */
        float steps = (float)T;
        for (int64_t i = 0; i < M; i++) rate[i] /= steps;
    }
}

/* One backward step for a surrogate SG(x). gs: dL/ds at this step; gi: dL/dI,
 * stored per step (STORE "=") or summed over t for a constant input ("+="). */
#define BACKWARD_STEP(SG, STORE)                                                    \
    for (int64_t i = 0; i < M; i++) {                                               \
        float x = u_t[i] - theta;                                                   \
        float c = x < 0.0f ? carry[i] : carry[i] * soft;                            \
        float g = gs[i] * (SG) + c;                                                 \
        gi[i] STORE g;                                                              \
        carry[i] = decay * g;                                                       \
    }

#define BACKWARD_SURROGATE(STORE)                                                   \
    switch (kind) {                                                                 \
    case SG_ATAN: BACKWARD_STEP(half_scale / (1.0f + (atan_k * x) * (atan_k * x)), STORE) break; \
    case SG_FAST_SIGMOID:                                                           \
        BACKWARD_STEP(1.0f / ((1.0f + scale * fabsf(x)) * (1.0f + scale * fabsf(x))), STORE) break; \
    default:                                                                        \
        BACKWARD_STEP(fabsf(x) < 0.5f ? (1.0f - tanhf(scale * x) * tanhf(scale * x)) * dspike_norm \
                                      : 0.0f, STORE)                                \
    }

/* Backward. grad_spikes: [T][M], or grad_rate: [M] (dL / d mean_t s_t);
 * grad_current: [T][M], or [M] summed over t for a constant input;
 * scratch: [2M]. */
void lif_backward(const float *RESTRICT grad_spikes, const float *RESTRICT grad_rate,
                  const float *RESTRICT membrane, int64_t T, int64_t M, float decay, float theta,
                  int hard, int kind, float scale, int constant, float *RESTRICT grad_current,
                  float *RESTRICT scratch) {
    float *RESTRICT carry = scratch;
    float *RESTRICT per_step = scratch + M;
    float soft = hard ? 0.0f : 1.0f;
    float half_scale = 0.5f * scale, atan_k = 1.5707963267948966f * scale;
    float dspike_norm = scale / (2.0f * tanhf(0.5f * scale));
    for (int64_t i = 0; i < M; i++) carry[i] = 0.0f;
    if (constant) for (int64_t i = 0; i < M; i++) grad_current[i] = 0.0f;
    if (grad_rate) {
        float steps = (float)T;
        for (int64_t i = 0; i < M; i++) per_step[i] = grad_rate[i] / steps;
    }
    for (int64_t t = T - 1; t >= 0; t--) {
        const float *RESTRICT u_t = membrane + t * M;
        const float *RESTRICT gs = grad_rate ? per_step : grad_spikes + t * M;
        float *RESTRICT gi = constant ? grad_current : grad_current + t * M;
        if (constant) { BACKWARD_SURROGATE(+=) } else { BACKWARD_SURROGATE(=) }
    }
}
