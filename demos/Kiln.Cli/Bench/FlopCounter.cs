namespace Kiln.Cli.Bench;

/// <summary>
/// Floating-point operations of one forward pass, counted as the peer counts them: 2 per multiply-add of every
/// convolution, transposed convolution and linear layer; everything else (activations, pooling, losses) is free.
/// Shapes are inferred here from the layers' own shape rules, in the order the nodes were added.
/// </summary>
internal static class FlopCounter
{
    public static double Forward(Network net, IReadOnlyDictionary<string, Shape> inputs)
    {
        var shapes = new Dictionary<Node, Shape>();
        double flops = 0;
        foreach (var node in net.Nodes)
        {
            if (node.Layer == null)
            {
                if (inputs.TryGetValue(node.Name, out var s)) shapes[node] = s;
                continue;
            }
            if (!node.Inputs.All(shapes.ContainsKey)) continue;
            var ins = node.Inputs.Select(i => shapes[i]).ToArray();
            var y = shapes[node] = node.Layer.OutputShape(ins);
            flops += node.Layer switch
            {
                Conv2d c => 2.0 * c.Attributes.InChannels / c.Attributes.Groups * c.Attributes.Kernel.H * c.Attributes.Kernel.W * y.Elements,
                ConvTranspose2d t => 2.0 * t.Attributes.OutChannels / t.Attributes.Groups * t.Attributes.Kernel.H * t.Attributes.Kernel.W * ins[0].Elements,
                Linear l => 2.0 * l.InFeatures * y.Elements,
                _ => 0,
            };
        }
        return flops;
    }
}
