namespace Kiln.Cli;

internal static class ConvCommand
{
    public static int Run(string[] args) => CliApp.Fail("conv: not built yet");
}
