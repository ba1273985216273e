// One invocation per element over a 2-D grid of workgroups (x up to 65535 groups, then y): Emitter.ElementwiseGroups.
#ifndef KILN_ELEMENTWISE_GLSL
#define KILN_ELEMENTWISE_GLSL
uint kiln_element_index()
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}
#endif
