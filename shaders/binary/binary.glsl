// The binary ops of Kiln.Layers.BinaryOp (0 mul, 1 sub, 2 div, 3 add) and their local gradients, shared by the
// broadcasting kernels binary.bcast.fwd and binary.bcast.bwd.
#ifndef KILN_BINARY_GLSL
#define KILN_BINARY_GLSL
float binary_apply(int op, float u, float v)
{
    return op == 0 ? u * v : op == 1 ? u - v : op == 2 ? u / v : u + v;
}

// d(a OP b)/d(input which) times the output gradient g (div's b gradient in PyTorch's order: -g * (a / b) / b).
float binary_grad(int op, int which, float g, float a, float b)
{
    if (op == 0) return g * (which == 0 ? b : a);
    if (op == 1) return which == 0 ? g : -g;
    if (op == 2) return which == 0 ? g / b : -g * ((a / b) / b);
    return g;
}
#endif
