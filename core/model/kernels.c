/* Fused float32 CPU kernels for the encoder's inference path (core/model/inference.py), loaded by
   core/model/kernels.py, which compiles this file on first use for the machine it runs on.

   Each replaces two or three passes of torch operators over the same memory by one (measured in docs/parallel.md,
   issue 11's seventh pass). Written in portable C with GCC/Clang vector extensions, so that the compiler emits
   the machine's widest vectors (AVX-512 here) without intrinsics. The functions only read and write the memory
   they are given and take no locks: ctypes releases the GIL around each call, so threads run them side by side. */
#include <stdint.h>
#include <string.h>

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
#define LANES 16

/* GELU of 16 floats, x/2 (1 + erf(x / sqrt 2)), with erf computed as torch's vectorised CPU kernels compute it
   (Abramowitz & Stegun 7.1.26: |error| < 1.5e-7) and exp(-z^2) as 2^k exp(r), |r| <= ln 2 / 2, by a degree-6
   polynomial (relative error < 3e-8 there); -z^2 below -30 is taken as -30 (erf is 1 in float32 from -17, and
   no subnormal number arises). NaN gives NaN, +inf +inf, -inf NaN (0 times -inf). */
static inline vf gelu16(vf x) {
    const vi sign = (vi){0} + (int32_t)0x80000000;
    vf z = x * 0.70710678118654752440f;
    vi zbits = (vi)z;
    vf a = (vf)(zbits & ~sign);
    vf t = 1.0f / (0.3275911f * a + 1.0f);
    vf poly = (((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f;
    vf e = -a * a;
    vi low = e < -30.0f;
    e = (vf)(((vi)e & ~low) | ((vi)((vf){0} - 30.0f) & low));
    vf k = (e * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest integer */
    vf r = e - k * 0.693145751953125f - k * 1.428606765330187e-06f; /* ln 2 in two parts */
    vf q = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666667f + r * (0.041666668f + r * (0.008333334f
           + r * 0.0013888889f)))));
    vf exp_e = q * (vf)((__builtin_convertvector(k, vi) + 127) << 23);
    vf erf_abs = 1.0f - poly * t * exp_e;
    vf erf = (vf)((vi)erf_abs | (zbits & sign));
    return 0.5f * x * (1.0f + erf);
}

/* x (n, m), rows ldx floats apart: x = gelu(x + b) in place, b (m) */
void bias_gelu(float *x, int64_t ldx, const float *b, int64_t n, int64_t m) {
    for (int64_t i = 0; i < n; i++) {
        float *row = x + i * ldx;
        int64_t j = 0;
        for (; j + LANES <= m; j += LANES) {
            vf v, bias;
            memcpy(&v, row + j, sizeof v);
            memcpy(&bias, b + j, sizeof bias);
            v = gelu16(v + bias);
            memcpy(row + j, &v, sizeof v);
        }
        if (j < m) { /* the last m mod 16 columns */
            size_t bytes = (size_t)(m - j) * sizeof(float);
            vf v = {0}, bias = {0};
            memcpy(&v, row + j, bytes);
            memcpy(&bias, b + j, bytes);
            v = gelu16(v + bias);
            memcpy(row + j, &v, bytes);
        }
    }
}

/* y = layer_norm(x) * g + beta over each of n rows of d (x's rows ldx floats apart, y's ldy), the variance
   without Bessel's correction and eps inside the square root, as torch's layer_norm; then, where add is not
   NULL, x += add on every row (the next bias of the residual stream, in the same pass over x). */
void layer_norm(float *restrict x, int64_t ldx, float *restrict y, int64_t ldy, const float *restrict g,
                const float *restrict beta, float eps, const float *restrict add, int64_t n, int64_t d) {
    float inv_d = 1.0f / (float)d;
    for (int64_t i = 0; i < n; i++) {
        float *restrict row = x + i * ldx;
        float *restrict out = y + i * ldy;
        float sum = 0.0f;
        #pragma omp simd reduction(+:sum)
        for (int64_t j = 0; j < d; j++) sum += row[j];
        float mean = sum * inv_d;
        float sq = 0.0f;
        #pragma omp simd reduction(+:sq)
        for (int64_t j = 0; j < d; j++) { float c = row[j] - mean; sq += c * c; }
        float rstd = 1.0f / __builtin_sqrtf(sq * inv_d + eps);
        #pragma omp simd
        for (int64_t j = 0; j < d; j++) out[j] = (row[j] - mean) * rstd * g[j] + beta[j];
        if (add) {
            #pragma omp simd
            for (int64_t j = 0; j < d; j++) row[j] += add[j];
        }
    }
}

/* out (rows, h * hd): out[r, j * hd + c] = a[j, r, c] * s[j, r], attention's heads side by side, each row times
   its softmax normalisation; a (h, rows, hd) and s (h, rows) contiguous, out contiguous */
void heads_scaled(const float *restrict a, const float *restrict s, float *restrict out, int64_t h, int64_t rows,
                  int64_t hd) {
    for (int64_t r = 0; r < rows; r++) {
        float *restrict o = out + r * h * hd;
        for (int64_t j = 0; j < h; j++) {
            const float *restrict src = a + (j * rows + r) * hd;
            float f = s[j * rows + r];
            #pragma omp simd
            for (int64_t c = 0; c < hd; c++) o[j * hd + c] = src[c] * f;
        }
    }
}
