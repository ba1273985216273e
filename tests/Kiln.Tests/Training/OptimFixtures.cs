using System.Text.Json;
using Kiln.Tests.Reference;

namespace Kiln.Tests.Training;

/// <summary>
/// Reads tests/fixtures/make_fixtures_optim.py's cases into Kiln terms: the network its attrs.net names, the optimizer,
/// the schedule and the clipping it was trained with.
/// </summary>
public static class OptimFixtures
{
    /// <summary>The network of attrs.net, with the same parameter names and order as the fixture's attrs.params.</summary>
    public static Sequential Network(string net) => net switch
    {
        "mlp" => new Sequential(new Linear(4, 5), new Tanh(), new Linear(5, 2)).WithLoss(new MseLoss()),
        "conv" => new Sequential(new Conv2d(2, 3, 3, padding: 1), new ReLU(), new Flatten(), new Linear(48, 2)).WithLoss(new MseLoss()),
        _ => throw new ArgumentException($"unknown fixture network '{net}'"),
    };

    /// <summary>The optimizer of attrs.optimizer with the hyperparameters the fixture gives (PyTorch's defaults otherwise).</summary>
    public static Optimizer Optimizer(Fixture f) => f.Str("optimizer") switch
    {
        "sgd" => new Sgd
        {
            Momentum = (float)f.Double("momentum", 0), Dampening = (float)f.Double("dampening", 0),
            WeightDecay = (float)f.Double("weight_decay", 0), Nesterov = f.Bool("nesterov", false),
        },
        "adam" => new Adam
        {
            Beta1 = (float)f.Double("beta1", 0.9), Beta2 = (float)f.Double("beta2", 0.999), Epsilon = (float)f.Double("eps", 1e-8),
            WeightDecay = (float)f.Double("weight_decay", 0), Amsgrad = f.Bool("amsgrad", false),
        },
        "adamw" => new AdamW
        {
            Beta1 = (float)f.Double("beta1", 0.9), Beta2 = (float)f.Double("beta2", 0.999), Epsilon = (float)f.Double("eps", 1e-8),
            WeightDecay = (float)f.Double("weight_decay", 0.01), Amsgrad = f.Bool("amsgrad", false),
        },
        var o => throw new ArgumentException($"unknown fixture optimizer '{o}'"),
    };

    /// <summary>The schedule of attrs.schedule (constant when absent).</summary>
    public static LearningRateSchedule Schedule(Fixture f) =>
        f.Attrs.TryGetProperty("schedule", out var s) ? Schedule(s) : new ConstantSchedule();

    static LearningRateSchedule Schedule(JsonElement s)
    {
        LearningRateSchedule main = s.GetProperty("kind").GetString() switch
        {
            "constant" => new ConstantSchedule(),
            "step" => new StepDecay { StepSize = s.GetProperty("step_size").GetInt32(), Gamma = (float)s.GetProperty("gamma").GetDouble() },
            "cosine" => new CosineAnnealing { TMax = s.GetProperty("t_max").GetInt32(), EtaMin = (float)s.GetProperty("eta_min").GetDouble() },
            var k => throw new ArgumentException($"unknown fixture schedule '{k}'"),
        };
        if (!s.TryGetProperty("warmup", out var w)) return main;
        return new LinearWarmup
        {
            Steps = w.GetProperty("steps").GetInt32(),
            StartFactor = (float)w.GetProperty("start_factor").GetDouble(),
            EndFactor = (float)w.GetProperty("end_factor").GetDouble(),
            Then = main,
        };
    }

    /// <summary>Compile options for training the fixture's network on its x and target.</summary>
    public static CompileOptions Options(Fixture f) => new()
    {
        InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(f["x"].Shape), ["target"] = new Shape(f["target"].Shape) },
        Training = true,
        Optimizer = Optimizer(f),
        LearningRate = (float)f.Double("lr"),
        Schedule = Schedule(f),
        ClipGradientNorm = f.Attrs.TryGetProperty("clip", out var c) ? (float)c.GetDouble() : null,
    };

    /// <summary>The parameter names in the fixture's (and Kiln's) order.</summary>
    public static string[] ParameterNames(Fixture f) => f.Attrs.GetProperty("params").EnumerateArray().Select(e => e.GetString()!).ToArray();
}
