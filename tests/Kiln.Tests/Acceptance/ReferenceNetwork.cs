using Kiln.Tests.Reference;

namespace Kiln.Tests.Acceptance;

/// <summary>
/// Runs a Kiln <see cref="Network"/> forward on the CPU with the naive double-precision references, node by
/// node: the independent check of whole networks. (A switch over layer types is fine here: this is the
/// test's reference, not the engine.)
/// </summary>
public static class ReferenceNetwork
{
    public static Dictionary<string, (double[] Data, int[] Shape)> Forward(Network net, IReadOnlyDictionary<string, (double[] Data, int[] Shape)> inputs,
        Func<string, double[]> parameter)
    {
        var values = new Dictionary<Node, (double[] Data, int[] Shape)>();
        foreach (var node in net.Nodes)
        {
            if (node.IsInput)
            {
                if (inputs.TryGetValue(node.Name, out var given)) values[node] = given;
                continue;
            }
            if (node.Inputs.Any(i => !values.ContainsKey(i))) continue; // e.g. a loss whose target was not given
            var ins = node.Inputs.Select(i => values[i]).ToArray();
            var (x, s) = ins[0];
            values[node] = node.Layer switch
            {
                Conv2d c => Conv(c, x, s, parameter($"{node.Name}.weight"), c.Attributes.Bias ? parameter($"{node.Name}.bias") : null),
                ReLU => (RefReLU.Forward(x), s),
                Sigmoid => (RefSigmoid.Forward(x), s),
                Tanh => (RefTanh.Forward(x), s),
                MaxPool2d p => (RefMaxPool2d.Forward(new Pool2dSpec(s[0], s[1], s[2], s[3], p.KernelSize.H, p.KernelSize.W, p.Stride.H, p.Stride.W), x),
                    new[] { s[0], s[1], (s[2] - p.KernelSize.H) / p.Stride.H + 1, (s[3] - p.KernelSize.W) / p.Stride.W + 1 }),
                Upsample u => (RefUpsample.Forward(x, s[0], s[1], s[2], s[3], u.Scale, u.Mode == UpsampleMode.Nearest ? "nearest" : "bilinear"),
                    new[] { s[0], s[1], s[2] * u.Scale, s[3] * u.Scale }),
                Concat => (RefConcat.Forward(ins.Select(i => i.Data).ToArray(), s[0], ins.Select(i => i.Shape[1]).ToArray(), s[2], s[3]),
                    new[] { s[0], ins.Sum(i => i.Shape[1]), s[2], s[3] }),
                L1Loss => (new[] { RefL1Loss.Forward(x, ins[1].Data) }, new[] { 1 }),
                _ => throw new NotSupportedException($"The reference network has no {node.Layer!.Kind}."),
            };
        }
        return net.Outputs.ToDictionary(o => o.Name, o => values[o.Node]);
    }

    static (double[], int[]) Conv(Conv2d c, double[] x, int[] s, double[] w, double[]? b)
    {
        var a = c.Attributes;
        var spec = new Conv2dSpec(s[0], s[1], s[2], s[3], a.OutChannels, a.Kernel.H, a.Kernel.W, a.Stride.H, a.Stride.W,
            a.Padding.H, a.Padding.W, a.Dilation.H, a.Dilation.W, a.Groups);
        return (RefConv2d.Forward(spec, x, w, b), new[] { s[0], a.OutChannels, spec.OH, spec.OW });
    }
}
