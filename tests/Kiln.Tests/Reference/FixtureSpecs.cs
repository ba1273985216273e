namespace Kiln.Tests.Reference;

/// <summary>
/// Reads a reference spec from a fixture's tensor shapes and attributes, and checks that the spec's output shape is
/// the fixture's y shape (so a misread attribute fails here, not as a numeric mismatch later).
/// </summary>
public static class FixtureSpecs
{
    /// <summary>conv2d: x [N, C, H, W], weight [Cout, C/groups, KH, KW]; stride, padding, dilation, groups.</summary>
    public static Conv2dSpec Conv2d(Fixture f)
    {
        var x = f["x"].Shape;
        var w = f["weight"].Shape;
        var s = f.Ints("stride", new[] { 1, 1 });
        var p = f.Ints("padding", new[] { 0, 0 });
        var d = f.Ints("dilation", new[] { 1, 1 });
        var spec = new Conv2dSpec(x[0], x[1], x[2], x[3], w[0], w[2], w[3], s[0], s[1], p[0], p[1], d[0], d[1], f.Int("groups", 1));
        return CheckOutput(f, spec, spec.N, spec.Cout, spec.OH, spec.OW);
    }

    /// <summary>conv_transpose2d: x [N, Cin, H, W], weight [Cin, Cout/groups, KH, KW]; stride, padding, output_padding, dilation, groups.</summary>
    public static ConvTranspose2dSpec ConvTranspose2d(Fixture f)
    {
        var x = f["x"].Shape;
        var w = f["weight"].Shape;
        var s = f.Ints("stride", new[] { 1, 1 });
        var p = f.Ints("padding", new[] { 0, 0 });
        var op = f.Ints("output_padding", new[] { 0, 0 });
        var d = f.Ints("dilation", new[] { 1, 1 });
        int groups = f.Int("groups", 1);
        var spec = new ConvTranspose2dSpec(x[0], x[1], x[2], x[3], w[1] * groups, w[2], w[3],
            s[0], s[1], p[0], p[1], op[0], op[1], d[0], d[1], groups);
        return CheckOutput(f, spec, spec.N, spec.Cout, spec.OH, spec.OW);
    }

    /// <summary>max_pool2d / avg_pool2d: x [N, C, H, W]; kernel_size, stride (default: the kernel).</summary>
    public static Pool2dSpec Pool2d(Fixture f)
    {
        var x = f["x"].Shape;
        var k = f.Ints("kernel_size");
        var s = f.Ints("stride", k);
        var spec = new Pool2dSpec(x[0], x[1], x[2], x[3], k[0], k[1], s[0], s[1]);
        return CheckOutput(f, spec, spec.N, spec.C, spec.OH, spec.OW);
    }

    static T CheckOutput<T>(Fixture f, T spec, params int[] outputShape)
    {
        if (f.Has("y") && !f["y"].Shape.SequenceEqual(outputShape))
            throw new InvalidDataException(
                $"{f.Name}: spec gives output [{string.Join(",", outputShape)}], fixture y is [{string.Join(",", f["y"].Shape)}]");
        return spec;
    }
}
