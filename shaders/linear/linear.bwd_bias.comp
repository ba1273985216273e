#version 450
// Linear bias gradient: db[j] = sum over the batch of dY[i, j] (column sums), one workgroup per column
// reducing with kiln_workgroup_sum (no atomics).
// Bindings: 0 dY [batch, out]  1 db [out]
// Specialization: 0 ROWS (batch), 1 COLS (out) (0 = from push constants)
// Push constants: rows, cols
// Dispatch: one workgroup per column, x * y >= cols (x up to 65535), local x = 64
#include "kiln.glsl"
#define REDUCE_SIZE 64
#include "reduce.glsl"

layout(constant_id = 0) const int S_ROWS = 0;
layout(constant_id = 1) const int S_COLS = 0;

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) writeonly buffer DB { float db[]; };

layout(push_constant) uniform P { int rows, cols; } p;

void main()
{
    const int ROWS = BAKED(S_ROWS, p.rows), COLS = BAKED(S_COLS, p.cols);
    const int col = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
    float s = 0.0;
    if (col < COLS)
        for (int r = int(gl_LocalInvocationID.x); r < ROWS; r += REDUCE_SIZE) s += dy[r * COLS + col];
    const float total = kiln_workgroup_sum(s);
    if (gl_LocalInvocationID.x == 0 && col < COLS) db[col] = total;
}
