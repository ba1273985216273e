namespace Kiln.Cli.SelfTest;

/// <summary>Linear forward and backward: random rows and features; one MLP-like shape with many rows.</summary>
internal sealed class LinearCheck : KernelCheck
{
    public override string Operation => "linear";

    public override IEnumerable<CheckCase> Cases(Random rng, int count)
    {
        yield return Case(1000, 64, 64, true);
        for (int i = 1; i < count; i++) yield return Case(rng.Next(1, 300), rng.Next(1, 80), rng.Next(1, 80), rng.Next(4) != 0);
    }

    static CheckCase Case(int rows, int fin, int fout, bool bias) =>
        new($"{rows} rows {fin}->{fout}{(bias ? "" : " no bias")}", new Linear(fin, fout, bias), new Shape(rows, fin), Reference(rows, fin, fout));

    /// <summary>The double reference of a Linear layer from <paramref name="fin"/> to <paramref name="fout"/> features over <paramref name="rows"/> rows.</summary>
    internal static ReferenceFunction Reference(int rows, int fin, int fout)
    {
        LinearTerms.Enumerate terms = term =>
        {
            for (int r = 0; r < rows; r++)
            for (int o = 0; o < fout; o++)
            for (int i = 0; i < fin; i++)
                term((long)r * fout + o, (long)r * fin + i, (long)o * fin + i, 1);
        };
        return LinearTerms.Reference((long)rows * fout, terms, o => o % fout);
    }
}
