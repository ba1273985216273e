using System.Diagnostics;
using System.IO.Compression;
using NUnit.Framework;

namespace Kiln.Tests.Embedding;

/// <summary>
/// The library as an engine takes it (README, "Using the library"): `dotnet pack engine` makes Kiln.0.1.0.nupkg, and a
/// console app outside the repository that references that package by version, restored into a folder of its own (Kiln
/// from the packed file alone, everything else from the packages this machine already has: no network, no cached copy of
/// an older Kiln), built for .NET 8 and 10, runs a convolution on the device with validation on against the same
/// arithmetic on the CPU, each build on the .NET 10 runtime (the .NET 8 one rolled forward, so it runs the package's
/// net8.0 library). What it proves beyond the in-tree tests: the package carries both target frameworks, the embedded
/// SPIR-V and its dependencies, and needs nothing from this repository at run time.
/// </summary>
public sealed class PackageTests
{
    const string Version = "0.1.0";

    [Test]
    public void ThePackedLibrary_RunsAConvolutionInAnAppOutsideTheRepository()
    {
        var root = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (root != null && !File.Exists(Path.Combine(root.FullName, "Engine.sln"))) root = root.Parent;
        Assert.That(root, Is.Not.Null, "the repository root (Engine.sln) above the test directory");
        // The configuration this test assembly was built in (bin/<configuration>/<tfm>), whose engine build is packed.
        string configuration = new DirectoryInfo(TestContext.CurrentContext.TestDirectory).Parent!.Name;
        var dir = Path.Combine(Path.GetTempPath(), "kiln-package-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string feed = Path.Combine(dir, "feed");
            // Built for both frameworks first (this test project builds only the engine's net10.0; after ./run.sh's
            // solution build there is nothing to do). Pack and build run without build servers: an MSBuild node left
            // running would hold this test's pipes open (ChildProcess.Run would then fail after its bound).
            var pack = Dotnet(dir, "pack", Path.Combine(root!.FullName, "engine", "Kiln.csproj"), "-c", configuration, "--no-restore",
                "--disable-build-servers", "-o", feed);
            Assert.That(pack.Code, Is.Zero, pack.Output);
            string nupkg = Path.Combine(feed, $"Kiln.{Version}.nupkg");
            using (var zip = ZipFile.OpenRead(nupkg))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToList();
                Assert.That(entries, Does.Contain("lib/net8.0/Kiln.dll").And.Contain("lib/net10.0/Kiln.dll"));
                Assert.That(entries, Does.Contain("lib/net10.0/Kiln.xml"), "the API documentation for the host's IDE");
                Assert.That(entries, Does.Contain("README.md"));
            }

            var globalPackages = Dotnet(dir, "nuget", "locals", "global-packages", "--list");
            Assert.That(globalPackages.Code, Is.Zero, globalPackages.Output);
            string cache = globalPackages.Output.Split('\n').Select(l => l.Trim())
                .Single(l => l.StartsWith("global-packages:", StringComparison.Ordinal))["global-packages:".Length..].Trim();

            string app = Path.Combine(dir, "app");
            Directory.CreateDirectory(app);
            File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFrameworks>net8.0;net10.0</TargetFrameworks>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <UseAppHost>false</UseAppHost>
                    <RestorePackagesPath>{Path.Combine(dir, "packages")}</RestorePackagesPath>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Kiln" Version="{Version}" />
                  </ItemGroup>
                </Project>
                """);
            // Kiln only from the feed (the cache may hold another build of the same version), the rest only from the cache.
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="feed" value="{feed}" />
                    <add key="cache" value="{cache}" />
                  </packageSources>
                  <packageSourceMapping>
                    <packageSource key="feed"><package pattern="Kiln" /></packageSource>
                    <packageSource key="cache"><package pattern="*" /></packageSource>
                  </packageSourceMapping>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), ConsumerProgram);

            var build = Dotnet(app, "build", "-c", "Release", "--disable-build-servers");
            Assert.That(build.Code, Is.Zero, build.Output);
            string metadata = File.ReadAllText(Path.Combine(dir, "packages", "kiln", Version, ".nupkg.metadata"));
            Assert.That(metadata, Does.Contain(feed), "Kiln restored from the packed file");
            foreach (var (framework, version) in new[] { ("net8.0", "v8.0"), ("net10.0", "v10.0") })
            {
                var run = Dotnet(app, Path.Combine(app, "bin", "Release", framework, "App.dll"));
                TestContext.Out.WriteLine($"{framework}: {run.Output}");
                Assert.That(run.Code, Is.Zero, run.Output);
                Assert.That(run.Output, Does.Contain($".NETCoreApp,Version={version}: conv2d 3->4 on 1x3x9x7 matches the CPU"), run.Output);
                Assert.That(run.Output, Does.Contain("validation on, 0 messages"), run.Output);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>The consumer: a 3x3 convolution with bias and ReLU through the public API, checked element by element.</summary>
    const string ConsumerProgram = """
        using Kiln;

        using var gpu = GpuContext.Create(new ContextOptions { Validation = true });
        var net = new Sequential(new Conv2d(3, 4, 3, padding: 1), new ReLU());
        const int C = 3, K = 4, H = 9, W = 7;
        using var step = net.Compile(gpu, new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = new(1, C, H, W) } });
        var x = new float[C * H * W];
        for (int i = 0; i < x.Length; i++) x[i] = MathF.Sin(0.37f * i);
        step.SetInput("x", x);
        step.Run();
        float[] y = step.GetOutput("y");
        float[] w = step.Parameters.Single(p => p.Key.EndsWith(".weight")).Value.ToArray();
        float[] b = step.Parameters.Single(p => p.Key.EndsWith(".bias")).Value.ToArray();
        double worst = 0;
        for (int k = 0; k < K; k++)
            for (int oy = 0; oy < H; oy++)
                for (int ox = 0; ox < W; ox++)
                {
                    double s = b[k];
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int iy = oy + ky - 1, ix = ox + kx - 1;
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += (double)w[((k * C + c) * 3 + ky) * 3 + kx] * x[(c * H + iy) * W + ix];
                            }
                    worst = Math.Max(worst, Math.Abs(Math.Max(s, 0) - y[(k * H + oy) * W + ox]));
                }
        // The framework the Kiln.dll in use was built for (the package's lib/net8.0 or lib/net10.0).
        var built = typeof(GpuContext).Assembly.GetCustomAttributes(typeof(System.Runtime.Versioning.TargetFrameworkAttribute), false);
        string framework = ((System.Runtime.Versioning.TargetFrameworkAttribute)built.Single()).FrameworkName;
        Console.WriteLine($"{gpu.Info.Name}: max |gpu - cpu| = {worst:G3}");
        var messages = gpu.TakeValidationMessages();
        Console.WriteLine($"validation {(gpu.ValidationEnabled ? "on" : "off")}, {messages.Count} messages");
        if (worst > 1e-5) { Console.WriteLine("conv2d 3->4 differs from the CPU"); return 1; }
        Console.WriteLine($"{framework}: conv2d 3->4 on 1x{C}x{H}x{W} matches the CPU");
        return 0;
        """;

    static (int Code, string Output) Dotnet(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory };
        start.Environment["DOTNET_ROLL_FORWARD"] = "Major"; // the app's .NET 8 build on the .NET 10 runtime
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        return ChildProcess.Run(start, TimeSpan.FromMinutes(5));
    }
}
