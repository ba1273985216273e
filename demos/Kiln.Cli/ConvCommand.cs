namespace Kiln.Cli;

/// <summary>`kiln conv`: the course's convolution (5x5 input, 3x3 kernel, no padding, stride 1) on the GPU.</summary>
internal static class ConvCommand
{
    static readonly float[] Input =
    {
        3, 3, 2, 1, 0,
        0, 0, 1, 3, 1,
        3, 1, 2, 2, 3,
        2, 0, 0, 2, 2,
        2, 0, 0, 0, 1,
    };
    static readonly float[] Kernel = { 0, 1, 2, 2, 2, 0, 0, 1, 2 };
    static readonly float[] Expected = { 12, 12, 17, 10, 17, 19, 9, 6, 14 };

    public static int Run(string[] args)
    {
        if (args.Length > 0) return CliApp.Fail($"conv: unexpected argument '{args[0]}'");
        using var context = GpuContext.Create();
        var net = new Sequential(new Conv2d(1, 1, 3, bias: false));
        using var compiled = net.Compile(context, CompileOptions.For("x", new Shape(1, 1, 5, 5)));
        compiled.Parameters["conv2d_0.weight"].Upload(Kernel);
        compiled.SetInput("x", Input);
        compiled.Run();
        var y = compiled.GetOutput("y");

        Console.WriteLine($"device: {context.Info.Name}");
        Console.WriteLine("input          kernel       output (GPU)");
        for (int r = 0; r < 5; r++)
        {
            var inRow = string.Join(" ", Input.Skip(r * 5).Take(5).Select(v => $"{v,1}"));
            var kRow = r < 3 ? string.Join(" ", Kernel.Skip(r * 3).Take(3).Select(v => $"{v,1}")) : "     ";
            var yRow = r < 3 ? string.Join(" ", y.Skip(r * 3).Take(3).Select(v => $"{v,2}")) : "";
            Console.WriteLine($"{inRow}      {kRow}        {yRow}");
        }
        bool exact = y.SequenceEqual(Expected);
        Console.WriteLine(exact ? "matches the expected [[12,12,17],[10,17,19],[9,6,14]] exactly" : "DOES NOT match the expected [[12,12,17],[10,17,19],[9,6,14]]");
        return exact ? 0 : 1;
    }
}
