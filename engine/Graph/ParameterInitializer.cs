namespace Kiln.Graph;

/// <summary>
/// PyTorch's default initial values (the distributions, not its random stream), from a seed: the same seed
/// and network give the same parameters on every run and device.
/// </summary>
internal static class ParameterInitializer
{
    public static float[] Values(ParameterSpec spec, int seed, string name)
    {
        var data = new float[spec.Shape.Elements];
        switch (spec.Init)
        {
            case ParameterInit.Ones:
                Array.Fill(data, 1f);
                break;
            case ParameterInit.Zeros:
                break;
            default:
                // Each parameter gets its own stream, derived from the seed and its name, so adding a layer
                // does not change the others' values.
                var rng = new Random(unchecked(seed * 1000003 ^ StableHash(name)));
                double bound = 1.0 / Math.Sqrt(Math.Max(1, spec.FanIn));
                for (int i = 0; i < data.Length; i++) data[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
                break;
        }
        return data;
    }

    static int StableHash(string s)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (char c in s) h = (h ^ c) * 16777619;
            return h;
        }
    }
}
