namespace Kiln;

/// <summary>A chain of layers from input "x" to output "y".</summary>
public sealed class Sequential : Network
{
    public Sequential(params Layer[] layers)
    {
        var node = Input("x");
        foreach (var l in layers) node = Add(l, node);
        Output(node, "y");
    }

    /// <summary>The last node (output "y").</summary>
    public Node Last => Outputs[0].Node;

    /// <summary>Adds a loss of the output against a "target" input (and a "mask" input for masked losses).</summary>
    public Sequential WithLoss(Layer loss)
    {
        var from = new List<Node> { Last, Input("target") };
        if (loss.InputCount == 3) from.Add(Input("mask"));
        SetLoss(loss, from.ToArray());
        return this;
    }
}
