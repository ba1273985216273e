using System.Diagnostics;
using NUnit.Framework;

namespace Kiln.Tests.Shaders;

/// <summary>
/// The SPIR-V tools the shader tests run: tools/shaderc/bin's (tools/setup-shader-toolchain.sh; they understand
/// cooperative-matrix modules), else the one on PATH (Debian's spirv-tools).
/// </summary>
internal static class SpirvTools
{
    /// <summary>The path of <paramref name="tool"/> (spirv-val, spirv-opt, spirv-dis); a test failure naming what to install when there is none.</summary>
    public static string Find(string tool)
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d != null; d = d.Parent)
        {
            if (!File.Exists(Path.Combine(d.FullName, "Engine.sln"))) continue;
            string local = Path.Combine(d.FullName, "tools", "shaderc", "bin", tool);
            if (File.Exists(local)) return local;
            break;
        }
        foreach (string p in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(p, OperatingSystem.IsWindows() ? tool + ".exe" : tool);
            if (File.Exists(candidate)) return candidate;
        }
        Assert.Fail($"{tool} was not found: neither tools/shaderc/bin/{tool} nor {tool} on PATH. Install it with 'apt-get install spirv-tools' " +
                    "and run 'bash tools/setup-shader-toolchain.sh' (or just './run.sh test', which does both).");
        return null!;
    }

    /// <summary>Runs <paramref name="exe"/> and returns its exit code and its output (stdout then stderr); a test failure after a minute.</summary>
    public static (int ExitCode, string Output) Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe);
        foreach (string a in args) psi.ArgumentList.Add(a);
        var (code, output) = ChildProcess.Run(psi, TimeSpan.FromMinutes(1));
        return (code, output.Trim());
    }
}
