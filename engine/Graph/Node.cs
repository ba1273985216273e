namespace Kiln;

/// <summary>
/// A point in a <see cref="Network"/>: the output of one layer applied to other nodes, or a named input.
/// Nodes carry no shapes; <see cref="Network.Compile"/> infers them for given input shapes.
/// </summary>
public sealed class Node
{
    internal Node(Network network, Layer? layer, Node[] inputs, string name)
    {
        Network = network;
        Layer = layer;
        Inputs = inputs;
        Name = name;
    }

    public Network Network { get; }
    /// <summary>The layer producing this node; null for a network input.</summary>
    public Layer? Layer { get; internal set; }
    public Node[] Inputs { get; internal set; }
    public string Name { get; }
    public bool IsInput => Layer == null;

    public override string ToString() => Layer == null ? $"input '{Name}'" : $"{Layer.Kind} '{Name}'";
}
