/* Gradient-boosted trees summed over rows: the compiled tree walker of
 * behavtrack.strategies.gbm_json (backend "compiled").
 *
 * add_trees(X, nodes, roots, depths, n_classes, raw) adds to raw[r, t % n_classes] the
 * value of the leaf that row r of X reaches in tree t, for every tree t in order, so each
 * class's sum is formed in the trees' (iteration) order: the same floating-point operations
 * as scikit-learn's predictor and as the numpy traversal, hence the same bits.
 *
 * A row goes left at a split when x <= threshold; a missing value (NaN) goes to the
 * split's missing side. Walks take steps without a branch on their outcome (a leaf is its
 * own child), eight rows side by side, until all eight are at their leaves or the tree's
 * depth is reached: unpredictable branches, not arithmetic, are what a tree walk costs. Every index is checked once before walking, so corrupt trees raise
 * ValueError instead of reading out of bounds. Plain C API and the buffer protocol: no
 * numpy headers. The GIL is released while walking: threads may walk row blocks side by
 * side.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* one node; numpy's mirror is gbm_json._NODE_DTYPE (32 bytes, same field order).
 * A leaf is its own child on both sides, so a walk may go on past it. */
typedef struct {
    double threshold;
    double value;
    int32_t feature;
    int32_t child[2]; /* [0] left (x <= threshold), [1] right */
    uint8_t nan_left;
    uint8_t pad[3];
} node_t;

/* rows walked together through one tree: their features stay in the L2 cache */
#ifndef ROW_BLOCK
#define ROW_BLOCK 128
#endif
/* rows whose walks are interleaved: independent chains of loads hide their latency */
#ifndef LANES
#define LANES 8
#endif

static int is_double_format(const char *fmt)
{
    if (fmt == NULL)
        return 0;
    if (fmt[0] == '<' || fmt[0] == '=' || fmt[0] == '@')
        fmt++;
    return fmt[0] == 'd' && fmt[1] == '\0';
}

static int get_matrix(PyObject *obj, Py_buffer *view, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    if (view->ndim != 2 || !is_double_format(view->format) || view->itemsize != 8) {
        PyErr_Format(PyExc_ValueError, "%s must be a C-contiguous 2-D float64 array", name);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* one step down: left when x <= threshold, or when x is missing and the node sends
 * missing values left; no branch (its outcome could not be predicted) */
static inline int32_t step(const node_t *nodes, int32_t i, const double *x)
{
    const node_t *nd = nodes + i;
    const double v = x[nd->feature];
    const int left = (v <= nd->threshold) | ((v != v) & nd->nan_left);
    return nd->child[!left];
}

static void walk(const double *X, Py_ssize_t n_rows, Py_ssize_t n_features,
                 const node_t *nodes, const int32_t *roots, const int32_t *depths,
                 Py_ssize_t n_trees, Py_ssize_t n_classes, double *raw)
{
    for (Py_ssize_t r0 = 0; r0 < n_rows; r0 += ROW_BLOCK) {
        const Py_ssize_t r1 = r0 + ROW_BLOCK < n_rows ? r0 + ROW_BLOCK : n_rows;
        for (Py_ssize_t t = 0; t < n_trees; t++) {
            const int32_t root = roots[t], depth = depths[t];
            const Py_ssize_t k = t % n_classes;
            Py_ssize_t r = r0;
            for (; r + LANES <= r1; r += LANES) {
                int32_t at[LANES];
                for (int j = 0; j < LANES; j++)
                    at[j] = root;
                for (int32_t d = 0; d < depth; d++) {
                    int32_t moved = 0;
                    for (int j = 0; j < LANES; j++) {
                        const int32_t next = step(nodes, at[j], X + (r + j) * n_features);
                        moved |= next ^ at[j];
                        at[j] = next;
                    }
                    if (!moved) /* every lane is at its leaf */
                        break;
                }
                for (int j = 0; j < LANES; j++)
                    raw[(r + j) * n_classes + k] += nodes[at[j]].value;
            }
            for (; r < r1; r++) {
                int32_t at = root;
                for (int32_t d = 0; d < depth; d++)
                    at = step(nodes, at, X + r * n_features);
                raw[r * n_classes + k] += nodes[at].value;
            }
        }
    }
}

static PyObject *add_trees(PyObject *self, PyObject *args)
{
    PyObject *x_obj, *nodes_obj, *roots_obj, *depths_obj, *raw_obj;
    Py_ssize_t n_classes;
    Py_buffer xv, nv, rv, dv, outv;
    if (!PyArg_ParseTuple(args, "OOOOnO", &x_obj, &nodes_obj, &roots_obj, &depths_obj,
                          &n_classes, &raw_obj))
        return NULL;
    if (get_matrix(x_obj, &xv, 0, "X") < 0)
        return NULL;
    if (PyObject_GetBuffer(nodes_obj, &nv, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&xv);
        return NULL;
    }
    if (PyObject_GetBuffer(roots_obj, &rv, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&xv);
        PyBuffer_Release(&nv);
        return NULL;
    }
    if (PyObject_GetBuffer(depths_obj, &dv, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&xv);
        PyBuffer_Release(&nv);
        PyBuffer_Release(&rv);
        return NULL;
    }
    if (get_matrix(raw_obj, &outv, 1, "raw") < 0) {
        PyBuffer_Release(&xv);
        PyBuffer_Release(&nv);
        PyBuffer_Release(&rv);
        PyBuffer_Release(&dv);
        return NULL;
    }

    const Py_ssize_t n_rows = xv.shape[0], n_features = xv.shape[1];
    const Py_ssize_t n_nodes = nv.len / (Py_ssize_t)sizeof(node_t);
    const Py_ssize_t n_trees = rv.len / (Py_ssize_t)sizeof(int32_t);
    const node_t *nodes = (const node_t *)nv.buf;
    const int32_t *roots = (const int32_t *)rv.buf, *depths = (const int32_t *)dv.buf;
    const char *problem = NULL;
    if (nv.len % (Py_ssize_t)sizeof(node_t) != 0)
        problem = "nodes must be a whole number of 32-byte node records";
    else if (rv.len % (Py_ssize_t)sizeof(int32_t) != 0 || dv.len != rv.len)
        problem = "roots and depths must be int32 arrays of one length";
    else if (n_classes < 1 || n_trees % n_classes != 0)
        problem = "the number of trees must be a multiple of n_classes >= 1";
    else if (outv.shape[0] != n_rows || outv.shape[1] != n_classes)
        problem = "raw must have shape (rows of X, n_classes)";
    /* every index a walk can follow stays inside the arrays, whatever the trees hold */
    for (Py_ssize_t i = 0; problem == NULL && i < n_nodes; i++)
        if (nodes[i].feature < 0 || nodes[i].feature >= n_features
                || nodes[i].child[0] < 0 || nodes[i].child[0] >= n_nodes
                || nodes[i].child[1] < 0 || nodes[i].child[1] >= n_nodes)
            problem = "a node's feature or child index is outside the arrays";
    for (Py_ssize_t t = 0; problem == NULL && t < n_trees; t++)
        if (roots[t] < 0 || roots[t] >= n_nodes || depths[t] < 0)
            problem = "a tree's root is outside the nodes, or its depth is negative";
    if (problem == NULL) {
        Py_BEGIN_ALLOW_THREADS
        walk((const double *)xv.buf, n_rows, n_features, nodes, roots, depths, n_trees,
             n_classes, (double *)outv.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&xv);
    PyBuffer_Release(&nv);
    PyBuffer_Release(&rv);
    PyBuffer_Release(&dv);
    PyBuffer_Release(&outv);
    if (problem != NULL) {
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"add_trees", add_trees, METH_VARARGS,
     "add_trees(X, nodes, roots, depths, n_classes, raw)\n--\n\n"
     "Add each tree's leaf value for each row of X to raw[row, tree % n_classes], the trees "
     "in order; tree t is walked depths[t] steps down from roots[t]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_treewalk",
    "Compiled walker of gradient-boosted trees (behavtrack.strategies.gbm_json).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__treewalk(void)
{
    return PyModule_Create(&module);
}
