#version 450
// Linear bias gradient: db[j] = sum over the batch of dY[i, j] (column sums), one invocation per column adding
// the rows in order (no atomics, no workgroup barriers; neighbouring lanes read neighbouring columns).
// Bindings: 0 dY [batch, out] (act_t)  1 db [out] (float)
// Specialization: 0 ROWS (batch), 1 COLS (out) (0 = from push constants)
// Push constants: rows, cols
// Dispatch: one invocation per column, ceil(cols / 64) workgroups spread over x and y like Emitter.ElementwiseGroups,
// local x = 64
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int S_ROWS = 0;
layout(constant_id = 1) const int S_COLS = 0;

layout(std430, binding = 0) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 1) writeonly buffer DB { float db[]; };

layout(push_constant) uniform P { int rows, cols; } p;

void main()
{
    const int ROWS = BAKED(S_ROWS, p.rows), COLS = BAKED(S_COLS, p.cols);
    const int col = int(kiln_element_index());
    if (col >= COLS) return;
    float s = 0.0;
    for (int r = 0; r < ROWS; r++) s += float(dy[r * COLS + col]);
    db[col] = s;
}
