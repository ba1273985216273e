namespace Kiln.Cli;

/// <summary>The `kiln` command line: parses arguments and calls the library; no logic of its own.</summary>
internal static class CliApp
{
    const string Usage = """
        kiln: GPU neural networks on Vulkan

        usage:
          kiln info [--json]                 Vulkan devices, the chosen one and its compute features
          kiln conv                          the course's convolution, computed on the GPU
          kiln plan MODEL [--size WxH] [--batch N] [--train] [--precision fp32|fp16] [--layout nchw|nhwc] [--device this|nvidia] [--prefer ENTRY,...] [--json]
                                             the compiled graph of a built-in network
                                             (denoise-unet, inpaint-unet, fashion-ae, playground-mlp)
                                             or of a bench workload (its id, at full size)
          kiln bench [WORKLOAD...] [--precision fp32|fp16] [--size full|small] [--iters N] [--warmup N]
                     [--json FILE] [--peer FILE] [--kernels] [--roofline]
                                             the workloads of BENCHMARKS.md (ids containing the words),
                                             GPU- and host-timed; --peer: ratio to torch_peer.py's JSON
          kiln train PRESET [--epochs N] [--batch B] [--lr X] [--seed S] [--precision fp32|fp16] [--data PATH] [--out DIR]
                     [--set KEY=VALUE]... [--resume CHECKPOINT]
                                             train a preset (playground-circle/-xor/-gauss/-spiral,
                                             fashion-ae, fashion-ae2d, fashion-dae, inpaint-unet,
                                             denoise-unet, demo-inpaint, demo-denoise); writes metrics.json, loss.png, pictures
                                             and checkpoint.safetensors
          kiln bench conv3x3 [--channels C] [--size S] [--iters N] [--json FILE]
                                             one 3x3 conv forward and backward, GPU-timed
          kiln bench fashion-ae-step [--batch B] [--iters N] [--json FILE]
                                             one fashion-ae Adam training step: wall ms, GPU ms per kernel
          kiln run MODEL --input FILE --output FILE [--mask FILE]
                                             runs an ONNX model or a checkpoint of kiln train; inputs
                                             and outputs are f32 safetensors named as the model names
                                             them, or images (PNG/JPEG in, PNG out; --mask: the holes
                                             for inpaint-unet, white = missing)
          kiln export CHECKPOINT [--onnx FILE [--batch N]] [--f16 FILE]
                                             a checkpoint of kiln train as an ONNX model (opset 17),
                                             or its parameters alone as F16 safetensors
          kiln grad MODEL.onnx --input FILE --target FILE [--loss mse|l1] --output FILE
                                             one forward and backward pass: writes loss and the
                                             gradient of every initializer and input
          kiln selftest [OPERATION...] [--cases N] [--seed S] [--budget SECONDS]
                                             the kernels picked on this device vs CPU references
                                             (conv2d, conv_transpose2d, linear, pool2d, upsample)
          kiln demo inpaint|denoise|playground [--frames N] [--out DIR] [--size WxH] [--steps K] [--no-train] [--fps F] [--every N] [--serve PORT]
                    [--images PATH] [--feedback] [--train-crop N] [--train-batch B] [--weights FILE|none] [--precision fp32|fp16]
                    [--layout nchw|nhwc]
                                             a real-time demo run headless: PNG frames and stats.json;
                                             --serve shows it live at http://127.0.0.1:PORT; --images PATH (inpaint)
                                             takes the scene from an image file or folder; --feedback (denoise)
                                             feeds the previous denoised frame back as an input; --train-crop N,
                                             --train-batch B (denoise): train on B crops of NxN a step (0: whole
                                             frame); inpaint and denoise start from the shipped weights, --weights
                                             FILE or none; --precision fp16: f16 activations; --layout:
                                             their layout (by default each compile's choice)

        environment: KILN_DEVICE=<index or name substring>, KILN_VALIDATION=1
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "info" => InfoCommand.Run(args[1..]),
                "conv" => ConvCommand.Run(args[1..]),
                "plan" => PlanCommand.Run(args[1..]),
                "selftest" => SelfTest.SelfTestCommand.Run(args[1..]),
                "bench" => Bench.BenchSuite.Run(args[1..]),
                "run" => RunCommand.Run(args[1..]),
                "grad" => GradCommand.Run(args[1..]),
                "demo" => DemoCommand.Run(args[1..]),
                "train" => TrainCommand.Run(args[1..]),
                "export" => ExportCommand.Run(args[1..]),
                _ => Fail($"unknown command '{args[0]}'\n\n{Usage}"),
            };
        }
        catch (KilnException e)
        {
            Console.Error.WriteLine($"kiln: {e.Message}");
            return 1;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"kiln: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"kiln: {e.Message}");
            return 1;
        }
    }

    /// <summary>The value of a command's --precision option: fp32 or fp16 (an ArgumentException, exit code 2, otherwise).</summary>
    internal static Precision ParsePrecision(string command, string value) => value switch
    {
        "fp32" => Precision.Fp32,
        "fp16" => Precision.Fp16,
        _ => throw new ArgumentException($"{command}: --precision takes fp32 or fp16, got '{value}'"),
    };

    /// <summary>--layout: the layout of a plan's activations (CompileOptions.ActivationLayout).</summary>
    internal static TensorLayout ParseLayout(string command, string value) => value switch
    {
        "nchw" => TensorLayout.Nchw,
        "nhwc" => TensorLayout.Nhwc,
        _ => throw new ArgumentException($"{command}: --layout takes nchw or nhwc, got '{value}'"),
    };

    /// <summary>An on|off option (--autotune, --subpixel).</summary>
    internal static bool ParseOnOff(string command, string option, string value) => value switch
    {
        "on" => true,
        "off" => false,
        _ => throw new ArgumentException($"{command}: {option} takes on or off, got '{value}'"),
    };

    /// <summary>--prefer: kernel entries by class name, comma-separated (CompileOptions.PreferKernels), each one that exists,
    /// or one with a candidate of it (ENTRY:CANDIDATE, the tile names the tuner's trace and file show).</summary>
    internal static string[] ParseEntries(string command, string value)
    {
        var names = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var entries = Kiln.Graph.KernelRegistry.All.Select(k => k.GetType().Name).ToHashSet();
        if (names.FirstOrDefault(p => !entries.Contains(p.Split(':')[0])) is { } unknown)
            throw new ArgumentException($"{command}: --prefer: no kernel entry is called '{unknown}'; entries: {string.Join(", ", entries.Order(StringComparer.Ordinal))}");
        return names;
    }

    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"kiln: {message}");
        return 2;
    }
}
