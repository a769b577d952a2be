/* The autoregressive sieve bootstrap's series (iblearn.functional.cmi_surrogates.renewed), the numpy
 * path's numbers up to rounding:
 *
 *   sieve(x, n, seeds, rows, c, phi, q, e, m, out): row b of out (rows x n) from seeds[b], whose
 *       SplitMix64 stream is z_1, z_2, ... (Steele, Lea & Flood 2014; z_j from the word seed + j * golden):
 *       the series starts at x[s .. s + q - 1] with s = z_1 mod (n - q + 1) and runs on by
 *       y_t = c + e[z_(t - q + 2) mod m] + phi_q y_(t-q) + ... + phi_1 y_(t-1), for 1 <= q <= SIEVE_ORDER.
 *
 * The last SIEVE_ORDER samples stay in registers and phi is padded with zeros (adding 0 * y changes no
 * sum): a sample's own sum then waits on the one before through a product and an addition only, where
 * reading it back from memory would take three times as long (measured). Scalar code: the recursion is
 * no loop a compiler vectorises. */

#define SIEVE_ORDER 10

static inline uint64_t splitmix64(uint64_t seed, uint64_t j) {
    uint64_t z = seed + UINT64_C(0x9E3779B97F4A7C15) * j;
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void sieve_kernel(const double *restrict x, Py_ssize_t n, const uint64_t *restrict seeds, Py_ssize_t rows,
                         double c, const double *restrict phi, Py_ssize_t q, const double *restrict e, uint64_t m,
                         double *restrict out) {
    double p[SIEVE_ORDER] = {0};
    for (Py_ssize_t i = 0; i < q; i++) p[i] = phi[i];
    for (Py_ssize_t b = 0; b < rows; b++) {
        double *restrict y = out + b * n;
        const uint64_t seed = seeds[b];
        const double *head = x + splitmix64(seed, 1) % (uint64_t)(n - q + 1);
        double w[SIEVE_ORDER] = {0}; /* w[i]: y_(t-1-i) */
        for (Py_ssize_t t = 0; t < q; t++) y[t] = w[q - 1 - t] = head[t];
        double w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8],
               w9 = w[9];
        for (Py_ssize_t t = q; t < n; t++) {
            double v = e[splitmix64(seed, (uint64_t)(t - q + 2)) % m] + c;
            v += p[9] * w9, v += p[8] * w8, v += p[7] * w7, v += p[6] * w6, v += p[5] * w5;
            v += p[4] * w4, v += p[3] * w3, v += p[2] * w2, v += p[1] * w1, v += p[0] * w0;
            w9 = w8, w8 = w7, w7 = w6, w6 = w5, w5 = w4, w4 = w3, w3 = w2, w2 = w1, w1 = w0, w0 = v;
            y[t] = v;
        }
    }
}

static PyObject *py_sieve(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer x, seeds, phi, e, out;
    Py_ssize_t n, rows, q, m;
    double c;
    if (!PyArg_ParseTuple(args, "y*ny*ndy*ny*nw*", &x, &n, &seeds, &rows, &c, &phi, &q, &e, &m, &out)) return NULL;
    int ok = n >= 1 && rows >= 0 && q >= 1 && q <= SIEVE_ORDER && q <= n && m >= 1 && rows <= PY_SSIZE_T_MAX / 8 / n;
    if (!ok) PyErr_SetString(PyExc_ValueError, "need n >= 1, rows >= 0, 1 <= q <= min(n, SIEVE_ORDER) and m >= 1");
    ok = ok && check(&x, "x", n, 8) && check(&seeds, "seeds", rows, 8) && check(&phi, "phi", q, 8) &&
         check(&e, "e", m, 8) && check(&out, "out", rows * n, 8);
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        sieve_kernel(x.buf, n, seeds.buf, rows, c, phi.buf, q, e.buf, (uint64_t)m, out.buf);
        Py_END_ALLOW_THREADS
    }
    Py_buffer *held[] = {&x, &seeds, &phi, &e, &out};
    for (int b = 0; b < 5; b++) PyBuffer_Release(held[b]);
    return ok ? Py_NewRef(Py_None) : NULL;
}
