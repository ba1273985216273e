namespace Kiln.Tests.Reference;

/// <summary>Plain SGD (no momentum, no weight decay), as torch.optim.SGD: w ← w - lr * g.</summary>
public static class RefSgd
{
    /// <summary>Returns the updated weights; <paramref name="weight"/> is left unchanged.</summary>
    public static double[] Step(double[] weight, double[] grad, double learningRate)
    {
        Check.Length(grad, weight.Length, nameof(grad));
        return weight.Select((w, i) => w - learningRate * grad[i]).ToArray();
    }
}
