using System.Diagnostics;
using Kiln.Cli.Bench;
using Kiln.Cli.SelfTest;
using NUnit.Framework;

namespace Kiln.Tests.Cli;

/// <summary>
/// tools/device-check.sh, the script a GPU session runs with the device time it has, with a stand-in for
/// .devcarry/remote.sh that records its arguments and exits: every part reaches the app as many times as it says (a
/// `timeout` in front of a shell function reaches nothing), and each bench and selftest line uses only options those
/// commands know and kernel entries the registry has. A typo here would cost a GPU run, not a CI run.
/// </summary>
public sealed class DeviceCheckScriptTests
{
    [TestCase("quick", 5)]
    [TestCase("tuned", 3)]
    [TestCase("bench", 3)]
    [TestCase("demos", 6)]
    [TestCase("compare", 9)]
    [TestCase("layout", 6)]
    [TestCase("subpixel", 8)]
    [TestCase("fresh", 8)]
    public void EveryPartRunsTheApp_WithOptionsAndEntriesThatExist(string part, int runs)
    {
        var root = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (root != null && !File.Exists(Path.Combine(root.FullName, "Engine.sln"))) root = root.Parent;
        Assert.That(root, Is.Not.Null, "the repository root (Engine.sln) above the test directory");
        var dir = CliRun.TempFolder();
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "tools"));
            Directory.CreateDirectory(Path.Combine(dir, ".devcarry"));
            File.Copy(Path.Combine(root!.FullName, "tools", "device-check.sh"), Path.Combine(dir, "tools", "device-check.sh"));
            string calls = Path.Combine(dir, "calls.txt");
            File.WriteAllText(Path.Combine(dir, ".devcarry", "remote.sh"), "printf '%s\\n' \"$*\" >> \"$KILN_TEST_CALLS\"\n");

            var psi = new ProcessStartInfo("bash") { WorkingDirectory = dir };
            foreach (var a in new[] { "tools/device-check.sh", Path.Combine(dir, "out"), part }) psi.ArgumentList.Add(a);
            psi.Environment["KILN_TEST_CALLS"] = calls;
            var (_, output) = ChildProcess.Run(psi, TimeSpan.FromMinutes(1)); // the script with a stand-in app finishes at once
            string printed = output + string.Join("\n", Directory.GetFiles(Path.Combine(dir, "out")).Select(File.ReadAllText));
            Assert.That(printed, Does.Not.Contain("No such file").And.Not.Contain("command not found"), printed);

            var lines = File.Exists(calls) ? File.ReadAllLines(calls) : Array.Empty<string>();
            Assert.That(lines, Has.Length.EqualTo(runs), $"the app's runs in part {part}");
            var entries = Kiln.Graph.KernelRegistry.All.Select(k => k.GetType().Name).ToHashSet();
            foreach (var line in lines)
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                string? usage = words[0] switch { "bench" => BenchSuite.Usage, "selftest" => SelfTestCommand.Usage, _ => null };
                if (usage != null)
                    foreach (var option in words.Where(w => w.StartsWith("--", StringComparison.Ordinal)))
                        Assert.That(usage, Does.Contain($"[{option}"), $"kiln {words[0]} knows {option}: {line}");
                for (int i = 0; i + 1 < words.Length; i++)
                    if (words[i] == "--prefer")
                        foreach (var name in words[i + 1].Split(','))
                            Assert.That(entries, Does.Contain(name), $"a kernel entry: {line}");
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
