namespace Kiln.Models;

/// <summary>The TensorFlow Playground's network: 2 inputs (x, y), hidden layers, one output; tanh by default.</summary>
public static class PlaygroundMlp
{
    public static Network Build(int[]? hidden = null, Func<Layer>? activation = null)
    {
        hidden ??= new[] { 8, 8 };
        activation ??= () => new Tanh();
        var layers = new List<Layer>();
        int width = 2;
        foreach (var h in hidden)
        {
            layers.Add(new Linear(width, h));
            layers.Add(activation());
            width = h;
        }
        layers.Add(new Linear(width, 1));
        return new Sequential(layers.ToArray()).WithLoss(new MseLoss());
    }
}
