// Workgroup sum: every invocation passes its partial value; invocation 0 gets the total back.
// Needs a workgroup of REDUCE_SIZE (a power of two, <= 1024) invocations along x.
#ifndef KILN_REDUCE_GLSL
#define KILN_REDUCE_GLSL
#ifndef REDUCE_SIZE
#define REDUCE_SIZE 256
#endif
shared float kiln_reduce_scratch[REDUCE_SIZE];
float kiln_workgroup_sum(float v)
{
    uint t = gl_LocalInvocationID.x;
    kiln_reduce_scratch[t] = v;
    barrier();
    for (uint s = REDUCE_SIZE / 2; s > 0; s >>= 1)
    {
        if (t < s) kiln_reduce_scratch[t] += kiln_reduce_scratch[t + s];
        barrier();
    }
    return kiln_reduce_scratch[0];
}
#endif
