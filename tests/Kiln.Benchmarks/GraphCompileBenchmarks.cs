using BenchmarkDotNet.Attributes;
using Kiln.Models;

namespace Kiln.Benchmarks;

/// <summary>
/// What compiling a network costs the host: planning alone (shape inference, fusion, autodiff, memory plan,
/// levels; no GPU objects) at the benchmark sizes, and the whole compile on a device (tensors allocated,
/// pipelines from the warm pipeline cache, descriptor sets, parameters uploaded) at a small image size, since
/// on lavapipe the upload of large tensors would dominate.
/// </summary>
[MemoryDiagnoser]
public class GraphCompileBenchmarks
{
    GpuContext context = null!;

    [GlobalSetup]
    public void Start()
    {
        Environment.SetEnvironmentVariable("XDG_RUNTIME_DIR", Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") ?? Path.GetTempPath());
        context = GpuContext.Create();
        using (Denoiser(256, 256)) { } // fills the pipeline cache: the measured compiles create pipelines from it
        using (Inpaint(1, 64)) { }
    }

    [GlobalCleanup]
    public void Stop() => context.Dispose();

    [Benchmark]
    public PlanReport PlanDenoiser1920x1088() =>
        DenoiseUNet.Build().Plan(context.Info, CompileOptions.For("x", new Shape(1, DenoiseUNet.InputChannels, 1088, 1920)));

    [Benchmark]
    public PlanReport PlanInpaintTrainingStepB8() =>
        InpaintUNet.BuildForTraining().Plan(context.Info, InpaintOptions(8, 256));

    [Benchmark]
    public void CompileDenoiser256() => Denoiser(256, 256).Dispose();

    [Benchmark]
    public void CompileInpaintTrainingStep64() => Inpaint(1, 64).Dispose();

    CompiledNetwork Denoiser(int w, int h) =>
        DenoiseUNet.Build().Compile(context, CompileOptions.For("x", new Shape(1, DenoiseUNet.InputChannels, h, w)));

    CompiledNetwork Inpaint(int n, int hw) => InpaintUNet.BuildForTraining().Compile(context, InpaintOptions(n, hw));

    static CompileOptions InpaintOptions(int n, int hw) => new()
    {
        InputShapes = new Dictionary<string, Shape> { ["x"] = new(n, 4, hw, hw), ["target"] = new(n, 3, hw, hw) },
        Training = true,
        Optimizer = new Adam(),
        LearningRate = 1e-3f,
    };
}
