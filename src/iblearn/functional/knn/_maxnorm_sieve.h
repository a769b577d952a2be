/* The autoregressive sieve bootstrap's series (iblearn.functional.cmi_surrogates.renewed), the numpy
 * path's numbers up to rounding:
 *
 *   sieve(x, n, seeds, rows, c, phi, q, e, m, out): row b of out (rows x n) from seeds[b], whose
 *       SplitMix64 stream is z_1, z_2, ... (Steele, Lea & Flood 2014; z_j from the word seed + j * golden):
 *       the series starts at x[s .. s + q - 1] with s = z_1 mod (n - q + 1) and runs on by
 *       y_t = c + e[z_(t - q + 2) mod m] + phi_q y_(t-q) + ... + phi_1 y_(t-1), for 1 <= q <= SIEVE_ORDER.
 *
 * A sample's sum takes y_(t-1) last, so that it waits on the one before through one product and one
 * addition. Scalar code: the recursion is no loop a compiler vectorises. */

#define SIEVE_ORDER 10

static inline uint64_t splitmix64(uint64_t seed, uint64_t j) {
    uint64_t z = seed + UINT64_C(0x9E3779B97F4A7C15) * j;
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* One row, q a constant in each copy (sieve_kernel's switch): the loops over the order unroll and the last
 * q samples stay in registers. Reading them back from memory instead makes each sample wait on the
 * store of the one before, and a loop over an order known only at run time takes about twice as long as
 * these copies, which run as fast as the words are drawn (measured). */
ALWAYS_INLINE void sieve_row(const double *restrict x, Py_ssize_t n, uint64_t seed, double c,
                             const double *restrict phi, const int q, const double *restrict e, uint64_t m,
                             double *restrict y) {
    const double *head = x + splitmix64(seed, 1) % (uint64_t)(n - q + 1);
    double w[SIEVE_ORDER]; /* w[i]: y_(t-1-i) */
    for (int t = 0; t < q; t++) y[t] = w[q - 1 - t] = head[t];
    for (Py_ssize_t t = q; t < n; t++) {
        double v = e[splitmix64(seed, (uint64_t)(t - q + 2)) % m] + c;
        for (int i = q - 1; i >= 0; i--) v += phi[i] * w[i];
        for (int i = q - 1; i > 0; i--) w[i] = w[i - 1];
        y[t] = w[0] = v;
    }
}

static void sieve_kernel(const double *x, Py_ssize_t n, const uint64_t *seeds, Py_ssize_t rows, double c,
                         const double *phi, Py_ssize_t q, const double *e, uint64_t m, double *out) {
    for (Py_ssize_t b = 0; b < rows; b++) {
        double *y = out + b * n;
        switch (q) {
#define SIEVE_CASE(Q)                                                                                           \
    case Q:                                                                                                     \
        sieve_row(x, n, seeds[b], c, phi, Q, e, m, y);                                                          \
        break;
            SIEVE_CASE(1) SIEVE_CASE(2) SIEVE_CASE(3) SIEVE_CASE(4) SIEVE_CASE(5)
            SIEVE_CASE(6) SIEVE_CASE(7) SIEVE_CASE(8) SIEVE_CASE(9) SIEVE_CASE(10)
#undef SIEVE_CASE
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
