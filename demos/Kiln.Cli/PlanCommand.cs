namespace Kiln.Cli;

internal static class PlanCommand
{
    public static int Run(string[] args) => CliApp.Fail("plan: not built yet");
}
