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

/* exp(e) of 16 floats e <= 0, as 2^k exp(r), |r| <= ln 2 / 2, by a degree-6 polynomial (relative error < 2e-7
   there); e below -30 is taken as -30 (exp(-30) ~ 1e-13: no subnormal number arises, they cost ~10x here). */
static inline vf exp_nonpositive16(vf e) {
    vi low = e < -30.0f;
    e = (vf)(((vi)e & ~low) | ((vi)((vf){0} - 30.0f) & low));
    vf k = (e * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest integer */
    vf r = e - k * 0.693145751953125f - k * 1.428606765330187e-06f; /* ln 2 in two parts */
    vf q = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666667f + r * (0.041666668f + r * (0.008333334f
           + r * 0.0013888889f)))));
    return q * (vf)((__builtin_convertvector(k, vi) + 127) << 23);
}

/* GELU of 16 floats, x/2 (1 + erf(x / sqrt 2)), with erf computed as torch's vectorised CPU kernels compute it
   (Abramowitz & Stegun 7.1.26: |error| < 1.5e-7). erf is 1 in float32 once -z^2 < -17, so exp's floor at -30
   changes nothing. NaN gives NaN, +inf +inf, -inf NaN (0 times -inf). */
static inline vf gelu16(vf x) {
    const vi sign = (vi){0} + (int32_t)0x80000000;
    vf z = x * 0.70710678118654752440f;
    vi zbits = (vi)z;
    vf a = (vf)(zbits & ~sign);
    vf t = 1.0f / (0.3275911f * a + 1.0f);
    vf poly = (((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f;
    vf erf_abs = 1.0f - poly * t * exp_nonpositive16(-a * a);
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

/* Attention for one query per spectrum and head (the pooling token's, in the encoder's last layer):
   out[i, j * hd + c] = sum_s softmax_s(q[j, i] . k[j, i, s]) v[j, i, s, c], for spectra i < n, heads j < h,
   tokens s < t (at most 64), with the layouts the encoder's products write:
   queries (h * hd, n): row j * hd + c holds component c of head j's query for every spectrum;
   keys (h * hd, n * t): row j * hd + c, column i * t + s; values (h, n * t, hd); out (n, h * hd).
   scores: room for n * t floats (overwritten). The scale 1/sqrt(hd) is already in the queries. The softmax
   subtracts each row's largest score. */
void attend_one(const float *restrict queries, const float *restrict keys, const float *restrict values,
                float *restrict out, float *restrict scores, int64_t h, int64_t n, int64_t t, int64_t hd) {
    int64_t nt = n * t;
    for (int64_t j = 0; j < h; j++) {
        /* every spectrum's scores for head j, reading each row of keys once, front to back */
        memset(scores, 0, (size_t)nt * sizeof(float));
        for (int64_t c = 0; c < hd; c++) {
            const float *qrow = queries + (j * hd + c) * n;
            const float *krow = keys + (j * hd + c) * nt;
            for (int64_t i = 0; i < n; i++) {
                float qc = qrow[i];
                #pragma omp simd
                for (int64_t s = 0; s < t; s++) scores[i * t + s] += qc * krow[i * t + s];
            }
        }
        for (int64_t i = 0; i < n; i++) {
            float block[64] = {0};
            memcpy(block, scores + i * t, (size_t)t * sizeof(float));
            float top = block[0];
            for (int64_t s = 1; s < t; s++) top = block[s] > top ? block[s] : top;
            for (int64_t s = t; s < (t + LANES - 1) / LANES * LANES; s++) block[s] = top; /* unused lanes: exp(0) */
            for (int64_t s = 0; s < t; s += LANES) {
                vf e;
                memcpy(&e, block + s, sizeof e);
                e = exp_nonpositive16(e - top);
                memcpy(block + s, &e, sizeof e);
            }
            float total = 0.0f;
            for (int64_t s = 0; s < t; s++) total += block[s];
            float inv = 1.0f / total;
            float *o = out + i * h * hd + j * hd;
            const float *v = values + (j * nt + i * t) * hd;
            #pragma omp simd
            for (int64_t c = 0; c < hd; c++) o[c] = 0.0f;
            for (int64_t s = 0; s < t; s++) {
                float p = block[s] * inv;
                #pragma omp simd
                for (int64_t c = 0; c < hd; c++) o[c] += p * v[s * hd + c];
            }
        }
    }
}

static inline vf vmax(vf a, vf b) {
    vi gt = a > b;
    return (vf)(((vi)a & gt) | ((vi)b & ~gt));
}

/* t floats from p into the lanes of a vector: all 16 read where ``whole`` (the floats after p + t are there to
   read), else the rest 0, without reading past p + t */
static inline vf load_upto(const float *p, int64_t t, int whole) {
    vf v = {0};
    if (whole || t == LANES) {
        memcpy(&v, p, sizeof v);
    } else {
        for (int64_t s = 0; s < t; s++) v[s] = p[s];
    }
    return v;
}

/* Attention of every token over every token of its spectrum, per head (the encoder's full layers):
   out[i * t + a, j * hd + c] = sum_b softmax_b(q[j, i, a] . k[j, i, b]) v[j, i, b, c], for spectra i < n, heads
   j < h and tokens a, b < t (at most 16), with the layouts the encoder's products write:
   qk (2 * h * hd, n * t): row j * hd + c holds component c of head j's queries, row (h + j) * hd + c its keys,
   column i * t + a; values (h, n * t, hd); out (n * t, h * hd). The scale 1/sqrt(hd) is already
   in the queries. The scores are kept transposed, one vector per key token b with the query tokens a in its
   lanes, so that each query's largest score, the softmax's shift, and its sum are lane-wise maxima and sums. */
static inline __attribute__((always_inline)) void attend_all_body(
        const float *restrict qk, const float *restrict values, float *restrict out, int64_t h, int64_t n,
        const int64_t t, const int64_t hd) {
    int64_t nt = n * t, d = h * hd;
    for (int64_t j = 0; j < h; j++) {
        for (int64_t i = 0; i < n; i++) {
            int64_t col = i * t;
            vf score[LANES];
            for (int64_t b = 0; b < t; b++) score[b] = (vf){0};
            for (int64_t c = 0; c < hd; c++) {
                const float *qrow = qk + (j * hd + c) * nt + col;
                const float *krow = qk + (d + j * hd + c) * nt + col;
                /* a whole vector where 16 floats remain in qk (lanes from t on are never stored) */
                vf q = load_upto(qrow, t, (j * hd + c) * nt + col + LANES <= 2 * d * nt);
                for (int64_t b = 0; b < t; b++) score[b] += krow[b] * q;
            }
            vf top = score[0];
            for (int64_t b = 1; b < t; b++) top = vmax(top, score[b]);
            vf total = {0};
            for (int64_t b = 0; b < t; b++) {
                score[b] = exp_nonpositive16(score[b] - top);
                total += score[b];
            }
            vf inv = 1.0f / total;
            const float *v = values + (j * nt + col) * hd;
            float *o = out + col * d + j * hd;
            if (hd == LANES) { /* each output row a whole vector: the weights read back one by one, broadcast */
                float w[LANES * LANES], r[LANES];
                for (int64_t b = 0; b < t; b++) memcpy(w + b * LANES, &score[b], sizeof(vf));
                memcpy(r, &inv, sizeof inv);
                for (int64_t a = 0; a < t; a++) {
                    vf acc = {0};
                    for (int64_t b = 0; b < t; b++) {
                        vf vb;
                        memcpy(&vb, v + b * LANES, sizeof vb);
                        acc += w[b * LANES + a] * vb;
                    }
                    acc *= r[a];
                    memcpy(o + a * d, &acc, sizeof acc);
                }
            } else {
                for (int64_t c = 0; c < hd; c++) {
                    vf acc = {0};
                    for (int64_t b = 0; b < t; b++) acc += v[b * hd + c] * score[b];
                    acc *= inv;
                    for (int64_t a = 0; a < t; a++) o[a * d + c] = acc[a];
                }
            }
        }
    }
}

void attend_all(const float *restrict qk, const float *restrict values, float *restrict out, int64_t h, int64_t n,
                int64_t t, int64_t hd) {
    if (t == 15 && hd == 16) { /* the default model's shapes, as constants: loops unrolled, scores in registers */
        attend_all_body(qk, values, out, h, n, 15, 16);
    } else {
        attend_all_body(qk, values, out, h, n, t, hd);
    }
}
