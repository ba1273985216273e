using BenchmarkDotNet.Attributes;
using Kiln.Models;

namespace Kiln.Benchmarks;

/// <summary>
/// The host's per-step costs: recording a whole step of the inpainting UNet's training (136 dispatches) into a
/// fresh command list, and replaying a recorded step of the Playground MLP, whose GPU work is tiny, from submit
/// to fence (on a CPU device such as lavapipe that includes the kernels themselves).
/// </summary>
[MemoryDiagnoser]
public class StepRecordingBenchmarks
{
    GpuContext context = null!;
    CompiledNetwork inpaint = null!;
    CompiledNetwork mlp = null!;
    CommandList mlpList = null!;

    [GlobalSetup]
    public void Start()
    {
        Environment.SetEnvironmentVariable("XDG_RUNTIME_DIR", Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") ?? Path.GetTempPath());
        context = GpuContext.Create();
        inpaint = InpaintUNet.BuildForTraining().Compile(context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new(1, 4, 32, 32), ["target"] = new(1, 3, 32, 32) },
            Training = true,
            Optimizer = new Adam(),
        });
        mlp = PlaygroundMlp.Build().Compile(context, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new(256, 2), ["target"] = new(256, 1) },
            Training = true,
        });
        mlpList = context.CreateCommandList("mlp step");
        mlp.Record(mlpList);
    }

    [GlobalCleanup]
    public void Stop()
    {
        mlpList.Dispose();
        mlp.Dispose();
        inpaint.Dispose();
        context.Dispose();
    }

    [Benchmark]
    public void RecordInpaintTrainingStep()
    {
        using var list = context.CreateCommandList("record");
        inpaint.Record(list);
    }

    [Benchmark]
    public void ReplayPlaygroundMlpStep() => mlpList.Run();
}
