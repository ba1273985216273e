namespace Kiln.Cli.Bench;

/// <summary>
/// The performance targets Kiln is held to on an H100 or H200, checked on a run's full-size rows against the peer's
/// file from the same GPU:
/// <list type="bullet">
/// <item>every row no slower than the peer's eager time at the same precision (its configs at that precision, CUDA
/// graphs left out: the first milestone);</item>
/// <item>the conv3x3 rows faster than the peer's best at the same precision;</item>
/// <item>the denoiser at 1920x1088, fp16: at most 0.5 x the peer's CUDA-graph replay;</item>
/// <item>the inpainting UNet's training step, fp16: at most 0.67 x the peer's autocast step;</item>
/// <item>the MLP step (mlp_64x4_b262144) at most 0.33 x the peer, the playground step at most 0.1 x;</item>
/// <item>the bandwidth-bound rows at 80% of the copy bandwidth or more (no peer needed).</item>
/// </list>
/// A check without the figures it needs (no peer row at this precision, an unknown limit) is neither met nor missed.
/// </summary>
internal static class BenchTargets
{
    /// <summary>The fraction of the copy bandwidth a bandwidth-bound row must reach.</summary>
    public const double BandwidthFraction = 0.8;

    public static IReadOnlyList<TargetCheck> Check(IEnumerable<BenchResult> results, PeerResults? peer, string precision)
    {
        var checks = new List<TargetCheck>();
        foreach (var r in results)
        {
            if (r.Size != "full" || r.Error != null || r.GpuMs is not { } ms) continue;
            if (r.GBps is { } gbps)
            {
                checks.Add(new TargetCheck($">= {BandwidthFraction:0%} of the copy bandwidth", r.Workload, "fraction", BandwidthFraction)
                {
                    Kiln = gbps, Reference = r.FractionOfLimit is { } f ? gbps / f : null, ReferenceConfig = "copy GB/s",
                    Value = r.FractionOfLimit, Met = r.FractionOfLimit is { } fr ? fr >= BandwidthFraction : null,
                });
                continue;
            }
            if (peer == null) continue;
            checks.Add(Ratio("no slower than the peer's eager time", r.Workload, ms, 1,
                peer.Find(r.Workload, c => c.StartsWith(precision, StringComparison.Ordinal) && !c.Contains("cudagraph", StringComparison.Ordinal))));
            if (r.Workload.StartsWith("conv3x3_", StringComparison.Ordinal))
                checks.Add(Ratio("faster than the peer's best", r.Workload, ms, 1, peer.Find(r.Workload, precision), strict: true));
            switch (r.Workload, precision)
            {
                case ("denoise_unet_1920x1088_infer", "fp16"):
                    checks.Add(Ratio("<= 0.5 x the peer's CUDA graph", r.Workload, ms, 0.5, peer.Find(r.Workload, c => c == "fp16-nhwc-cudagraph")));
                    break;
                case ("inpaint_unet_256_b8_train_step", "fp16"):
                    checks.Add(Ratio("<= 0.67 x the peer's autocast step", r.Workload, ms, 0.67, peer.Find(r.Workload, c => c == "fp16-amp")));
                    break;
                case ("mlp_64x4_b262144_train_step", _):
                    checks.Add(Ratio("<= 0.33 x the peer", r.Workload, ms, 0.33, peer.Find(r.Workload, precision)));
                    break;
                case ("playground_mlp_b256_train_step", _):
                    checks.Add(Ratio("<= 0.1 x the peer", r.Workload, ms, 0.1, peer.Find(r.Workload, precision)));
                    break;
            }
        }
        return checks;
    }

    static TargetCheck Ratio(string target, string workload, double ms, double bound, (double Ms, string Config)? peer, bool strict = false)
    {
        double? ratio = peer is { } p ? ms / p.Ms : null;
        return new TargetCheck(target, workload, "ratio", bound)
        {
            Strict = strict, Kiln = ms, Reference = peer?.Ms, ReferenceConfig = peer?.Config, Value = ratio,
            Met = ratio is { } x ? strict ? x < bound : x <= bound : null,
        };
    }

    public static void Print(IReadOnlyList<TargetCheck> checks)
    {
        if (checks.Count == 0) return;
        Console.WriteLine();
        Console.WriteLine($"{"target",-38} {"workload",-34} {"Kiln",12} {"reference",10} {"",-20} {"value",6} {"bound",8} met");
        foreach (var c in checks)
        {
            string bound = $"{(c.Kind == "fraction" ? ">=" : c.Strict ? "<" : "<=")} {c.Bound:0.##}";
            string kiln = c.Kind == "fraction" ? $"{c.Kiln:0} GB/s" : $"{c.Kiln:0.000} ms";
            string reference = c.Reference is { } v ? (c.Kind == "fraction" ? $"{v:0}" : $"{v:0.000}") : "-";
            string verdict = c.Met switch { true => "yes", false => "no", null => c.Kind == "fraction" ? "? (no limit)" : "? (no peer row)" };
            Console.WriteLine($"{c.Target,-38} {c.Workload,-34} {kiln,12} {reference,10} {c.ReferenceConfig ?? "",-20} {(c.Value is { } x ? x.ToString("0.00") : "-"),6} {bound,8} {verdict}");
        }
        int met = checks.Count(c => c.Met == true), missed = checks.Count(c => c.Met == false), open = checks.Count - met - missed;
        Console.WriteLine($"targets: {met} of {checks.Count} met, {missed} missed{(open > 0 ? $", {open} without the figures to check" : "")}");
    }
}

/// <summary>
/// One target checked on one row: <see cref="Value"/> is Kiln's GPU ms over the peer's (<see cref="Kind"/> "ratio";
/// met at or below <see cref="Bound"/>, below it where <see cref="Strict"/>) or a bandwidth row's fraction of the copy bandwidth
/// ("fraction"; met at or above it). <see cref="Kiln"/> and <see cref="Reference"/> are the two figures (ms, or GB/s);
/// <see cref="Met"/> is null where one is missing.
/// </summary>
internal sealed record TargetCheck(string Target, string Workload, string Kind, double Bound)
{
    /// <summary>A ratio met only below <see cref="Bound"/> ("faster than"), not at it.</summary>
    public bool Strict { get; init; }
    public double Kiln { get; init; }
    public double? Reference { get; init; }
    public string? ReferenceConfig { get; init; }
    public double? Value { get; init; }
    public bool? Met { get; init; }
}
