using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Training;

/// <summary>
/// What an <see cref="Optimizer"/> emits its update of one parameter with: the parameter, its gradient, the
/// regularisation that applies to it, and helpers that keep every optimizer kernel's binding and constant layout
/// (shaders/include/optim.glsl) in one place.
/// </summary>
internal sealed class ParameterUpdate
{
    public ParameterUpdate(Emitter emitter, Value parameter, Value gradient, float l1, float l2)
    {
        Emitter = emitter;
        Parameter = parameter;
        Gradient = gradient;
        L1 = l1;
        L2 = l2;
    }

    public Emitter Emitter { get; }
    public Value Parameter { get; }
    public Value Gradient { get; }
    /// <summary>Playground-style regularisation added to this parameter's gradient (0 where it doesn't apply).</summary>
    public float L1 { get; }
    public float L2 { get; }

    /// <summary>A state tensor of the parameter's shape named "&lt;param&gt;.<paramref name="name"/>", kept across steps, zero at first.</summary>
    public Value State(string name) => Emitter.NewValue(Parameter.Shape, ValueKind.OptimizerState, $"{Parameter.Name}.{name}");

    /// <summary>
    /// Dispatches optimizer module <paramref name="module"/> over the parameter's elements, 4 per invocation (the
    /// optimizer kernels are vector kernels, include/elementwise.glsl): bindings step state, g, w, then
    /// <paramref name="state"/>; specialization L1, L2, then <paramref name="constants"/>.
    /// </summary>
    public void Dispatch(string module, uint[] constants, params Value[] state)
    {
        var args = new List<Arg> { Arg.State, Arg.In(Gradient), Arg.InOut(Parameter) };
        args.AddRange(state.Select(Arg.InOut));
        var words = new[] { KernelSpec.Word(L1), KernelSpec.Word(L2) }.Concat(constants).ToArray();
        var spec = new KernelSpec(module, KernelSpec.Buffers(args.Count), 4, words, Emitter.ElementwiseLocal);
        long n = Parameter.Shape.Elements;
        Emitter.Dispatch(spec, Emitter.VectorGroups(n), PushConstants.Ints((int)n), $"{Parameter.Name}.{module.Split('/')[^1]}", args.ToArray());
    }
}
