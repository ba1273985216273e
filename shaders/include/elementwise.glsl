// One invocation per element over a 2-D grid of workgroups (x up to 65535 groups, then y): Emitter.ElementwiseGroups.
#ifndef KILN_ELEMENTWISE_GLSL
#define KILN_ELEMENTWISE_GLSL
uint kiln_element_index()
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}

// Vector kernels (the shared elementwise ones: Emitter.VectorGroups): invocation i takes elements 4i .. 4i + 3 through
// 4-wide views of its buffers declared on the same bindings (every value is 256-byte aligned: MemoryPlanner.Alignment,
// the allocator's), one load and store per buffer; where count is not a multiple of 4 the last invocation takes the
// tail one element at a time (kiln_vector_whole false, its elements from 4i to count).
bool kiln_vector_whole(uint i, uint count) { return 4u * i + 3u < count; }
#endif
