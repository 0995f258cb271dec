<#
.SYNOPSIS
    Makes a triage copy of this Exchange server for exfleet, on a server the collector cannot
    run on (below Windows Server 2016: Server 2008 R2, 2012, 2012 R2).

.DESCRIPTION
    Run it on the Exchange server from an elevated 64-bit PowerShell, as a local Administrator
    (reg save needs the backup privilege). It copies what exfleet's readers read, and nothing
    else, into -Out, with one folder per drive letter, as the collector reads it:

      <Out>\C\Windows\System32\config\SYSTEM, SOFTWARE   reg save HKLM\SYSTEM, HKLM\SOFTWARE
      <Out>\C\Windows\System32\winevt\Logs\*.evtx         wevtutil epl Application, System
      <Out>\C\Windows\System32\inetsrv\config\...         applicationHost.config
      <Out>\C\ExchangeSetupLogs\...                       setup logs, saved service states
      <Out>\C\exfleet\sc-queryex.txt                      sc queryex type= service state= all
      <Out>\D\...\Exchange Server\V15\...                 the install's files, under the
                                                          install's own drive letter (D: here)

    Files of the system drive go under C\ whatever its letter is: the collector reads a path
    without a drive from C\. The Security log is not read.

    The server is only read: the script writes under -Out only, which must be a new or empty
    folder outside the Windows folder and the Exchange install. A missing artifact is reported
    and the script goes on. It ends by printing the command that reads the copy on another
    machine, and writes what it copied and missed to <Out>\stage-report.txt.

    Written for Windows PowerShell 2.0 (what Server 2008 R2 ships) and later. This script has
    never been run by exfleet's tests: PowerShell is not available on the machine they run on.
    What they check instead: the list of artifacts below (between the GENERATED markers) is
    generated from the collector's table (collector/src/artifacts.rs), and a copy laid out as
    this script lays it out is read by the collector with every artifact found
    (collector/tests/stager.rs).

.PARAMETER Out
    The folder to write the copy to: new or empty, outside the Windows folder and the
    Exchange install, on a disk with room for the hives and event logs (a few hundred MB;
    more with large event logs).

.PARAMETER Aggregator
    The aggregator's URL, for the command printed at the end.

.EXAMPLE
    powershell.exe -ExecutionPolicy Bypass -File .\stage-triage.ps1 -Out E:\triage\EX01
#>
param(
    [Parameter(Mandatory = $true)]
    [string] $Out,
    [string] $Aggregator = 'https://aggregator.example.org:7443'
)

Set-StrictMode -Version 2.0
# Native tools (reg, wevtutil, sc) report failure by their exit code, checked after each; with
# 'Stop', PowerShell 2.0 would throw on their first line of stderr instead.
$ErrorActionPreference = 'Continue'

# BEGIN GENERATED ARTIFACTS
# Generated from collector/src/artifacts.rs: do not edit here. After a change there,
# UPDATE_STAGER=1 cargo test -p exfleet-collector --lib artifacts rewrites this block.
$SetupKeys = @(
    'Microsoft\ExchangeServer\v15\Setup',
    'Microsoft\ExchangeServer\v14\Setup'
)
$InstallPathValue = 'MsiInstallPath'
$IisConfigPath = 'Windows\System32\inetsrv\config\applicationHost.config'
$DefaultSiteRoot = 'inetpub\wwwroot'
$DefaultInstallPaths = @(
    'C:\Program Files\Microsoft\Exchange Server\V15\',
    'C:\Program Files\Microsoft\Exchange Server\V14\'
)
$Artifacts = @(
    @{ Reader = 'system_hive'; Base = 'SystemDrive'; Path = 'Windows\System32\config\SYSTEM'; Capture = 'RegSave'; Argument = 'HKLM\SYSTEM' },
    @{ Reader = 'software_hive'; Base = 'SystemDrive'; Path = 'Windows\System32\config\SOFTWARE'; Capture = 'RegSave'; Argument = 'HKLM\SOFTWARE' },
    @{ Reader = 'exsetup'; Base = 'Install'; Path = 'Bin\ExSetup.exe'; Capture = 'File'; Argument = '' },
    @{ Reader = 'iis_config'; Base = 'SystemDrive'; Path = 'Windows\System32\inetsrv\config\applicationHost.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'setup_log'; Base = 'SystemDrive'; Path = 'ExchangeSetupLogs\ExchangeSetup.log'; Capture = 'File'; Argument = '' },
    @{ Reader = 'service_control'; Base = 'SystemDrive'; Path = 'ExchangeSetupLogs\ServiceControl.log'; Capture = 'File'; Argument = '' },
    @{ Reader = 'service_state'; Base = 'SystemDrive'; Path = 'ExchangeSetupLogs\ServiceState*.xml'; Capture = 'Matching'; Argument = '' },
    @{ Reader = 'service_state'; Base = 'SystemDrive'; Path = 'ExchangeSetupLogs\ServiceStartupMode.xml'; Capture = 'Matching'; Argument = '' },
    @{ Reader = 'msi_log'; Base = 'SystemDrive'; Path = 'ExchangeSetupLogs\*.log'; Capture = 'MatchingText'; Argument = @('=== Verbose logging started', '=== Logging started') },
    @{ Reader = 'msi_log'; Base = 'SystemDrive'; Path = 'ExchangeSetupLogs\*.txt'; Capture = 'MatchingText'; Argument = @('=== Verbose logging started', '=== Logging started') },
    @{ Reader = 'msi_log'; Base = 'SystemDrive'; Path = 'Windows\Temp\*.log'; Capture = 'MatchingText'; Argument = @('=== Verbose logging started', '=== Logging started') },
    @{ Reader = 'msi_log'; Base = 'SystemDrive'; Path = 'Windows\Temp\*.txt'; Capture = 'MatchingText'; Argument = @('=== Verbose logging started', '=== Logging started') },
    @{ Reader = 'msi_log'; Base = 'SystemDrive'; Path = '*.log'; Capture = 'MatchingText'; Argument = @('=== Verbose logging started', '=== Logging started') },
    @{ Reader = 'msi_log'; Base = 'SystemDrive'; Path = '*.txt'; Capture = 'MatchingText'; Argument = @('=== Verbose logging started', '=== Logging started') },
    @{ Reader = 'event_log'; Base = 'SystemDrive'; Path = 'Windows\System32\winevt\Logs\Application.evtx'; Capture = 'EventLog'; Argument = 'Application' },
    @{ Reader = 'event_log'; Base = 'SystemDrive'; Path = 'Windows\System32\winevt\Logs\System.evtx'; Capture = 'EventLog'; Argument = 'System' },
    @{ Reader = 'sc_queryex'; Base = 'SystemDrive'; Path = 'exfleet\sc-queryex.txt'; Capture = 'Sc'; Argument = 'queryex type= service state= all bufsize= 65536' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\SharedWebConfig.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\SharedWebConfig.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\owa\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\ecp\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\EWS\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\mapi\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\sync\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\OAB\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\PowerShell\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\autodiscover\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\Owa\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\ecp\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\exchweb\EWS\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\mapi\emsmdb\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\sync\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\OAB\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\PowerShell-Proxy\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\Autodiscover\web.config'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\Owa\prem'; Capture = 'Subfolders'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\owa\auth'; Capture = 'Subfolders'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\ecp'; Capture = 'Subfolders'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'ClientAccess\ecp\bin\Microsoft.Exchange.Management.ControlPanel.dll'; Capture = 'File'; Argument = '' },
    @{ Reader = 'exchange_files'; Base = 'Install'; Path = 'UnifiedMessaging'; Capture = 'Subfolders'; Argument = '' },
    @{ Reader = 'installer_cache'; Base = 'SystemDrive'; Path = 'Windows\Installer\*.msi'; Capture = 'Matching'; Argument = '' },
    @{ Reader = 'installer_cache'; Base = 'SystemDrive'; Path = 'Windows\Installer\*.msp'; Capture = 'Matching'; Argument = '' },
    @{ Reader = 'ioc'; Base = 'Install'; Path = 'Logging\HttpProxy\*.log'; Capture = 'Tree'; Argument = '' },
    @{ Reader = 'ioc'; Base = 'Install'; Path = 'Logging\ECP\Server\*.log'; Capture = 'Tree'; Argument = '' },
    @{ Reader = 'ioc'; Base = 'Install'; Path = 'Logging\OABGeneratorLog\*'; Capture = 'Tree'; Argument = '' },
    @{ Reader = 'ioc'; Base = 'SystemDrive'; Path = 'inetpub\logs\LogFiles\*.log'; Capture = 'Tree'; Argument = '' },
    @{ Reader = 'ioc'; Base = 'SystemDrive'; Path = 'root\lsass.*dmp'; Capture = 'Tree'; Argument = '' },
    @{ Reader = 'ioc'; Base = 'SystemDrive'; Path = 'Windows\Temp\lsass.*dmp'; Capture = 'Tree'; Argument = '' },
    @{ Reader = 'ioc'; Base = 'SystemDrive'; Path = 'ProgramData\*.7z'; Capture = 'Tree'; Argument = '' },
    @{ Reader = 'ioc'; Base = 'SystemDrive'; Path = 'ProgramData\*.zip'; Capture = 'Tree'; Argument = '' },
    @{ Reader = 'ioc'; Base = 'SystemDrive'; Path = 'ProgramData\*.rar'; Capture = 'Tree'; Argument = '' },
    @{ Reader = 'ioc'; Base = 'SiteRoot'; Path = 'aspnet_client\*'; Capture = 'Tree'; Argument = '' },
    @{ Reader = 'ioc'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\owa\auth\*'; Capture = 'TreeExtensions'; Argument = @('aspx', 'ascx', 'ashx', 'asmx', 'asax', 'svc', 'xamlx', 'xoml', 'rem', 'soap', 'cshtml', 'vbhtml', 'asp', 'asa', 'cer', 'cdx', 'shtml', 'shtm', 'stm', 'config') },
    @{ Reader = 'ioc'; Base = 'Install'; Path = 'FrontEnd\HttpProxy\ecp\auth\*'; Capture = 'TreeExtensions'; Argument = @('aspx', 'ascx', 'ashx', 'asmx', 'asax', 'svc', 'xamlx', 'xoml', 'rem', 'soap', 'cshtml', 'vbhtml', 'asp', 'asa', 'cer', 'cdx', 'shtml', 'shtm', 'stm', 'config') }
)
# END GENERATED ARTIFACTS

$script:Copied = @()
$script:Missing = @()

function Join-Windows($folder, $name) {
    if ($name) { return [System.IO.Path]::Combine($folder, $name) }
    return $folder
}

function New-Folder($path) {
    [void] [System.IO.Directory]::CreateDirectory($path)
}

function Add-Copied($artifact, $what) {
    $line = '{0}: {1}: {2}' -f $artifact.Reader, $artifact.Path, $what
    $script:Copied += $line
    Write-Host ('  copied   ' + $line)
}

function Add-Missing($artifact, $why) {
    $line = '{0}: {1}: {2}' -f $artifact.Reader, $artifact.Path, $why
    $script:Missing += $line
    Write-Host ('  MISSING  ' + $line)
}

# Copies a file opened for reading with every sharing mode, so that a log its writer holds
# open is copied too, and keeps its last write time (a saved service state's time says when
# a run stopped the services).
function Copy-Shared($source, $target) {
    New-Folder ([System.IO.Path]::GetDirectoryName($target))
    $share = [System.IO.FileShare]::ReadWrite -bor [System.IO.FileShare]::Delete
    $from = [System.IO.File]::Open($source, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, $share)
    try {
        $to = [System.IO.File]::Create($target)
        try {
            $buffer = New-Object byte[] 1048576
            while (($n = $from.Read($buffer, 0, $buffer.Length)) -gt 0) {
                $to.Write($buffer, 0, $n)
            }
        } finally {
            $to.Close()
        }
    } finally {
        $from.Close()
    }
    [System.IO.File]::SetLastWriteTimeUtc($target, [System.IO.File]::GetLastWriteTimeUtc($source))
}

# Whether a file's text starts with one of $starts, after a byte order mark and white space
# (as the collector's reader tells an MSI log from other logs).
function Test-Start($file, $starts) {
    $bytes = New-Object byte[] 512
    $share = [System.IO.FileShare]::ReadWrite -bor [System.IO.FileShare]::Delete
    $stream = [System.IO.File]::Open($file, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, $share)
    try {
        $n = $stream.Read($bytes, 0, $bytes.Length)
    } finally {
        $stream.Close()
    }
    if ($n -ge 2 -and $bytes[0] -eq 0xFF -and $bytes[1] -eq 0xFE) {
        $text = [System.Text.Encoding]::Unicode.GetString($bytes, 2, $n - 2)
    } else {
        $text = [System.Text.Encoding]::UTF8.GetString($bytes, 0, $n)
    }
    $text = $text.TrimStart([char] 0xFEFF).TrimStart()
    foreach ($start in $starts) {
        if ($text.StartsWith($start, [System.StringComparison]::Ordinal)) { return $true }
    }
    return $false
}

function Save-Hive($artifact, $target) {
    New-Folder ([System.IO.Path]::GetDirectoryName($target))
    $output = & reg.exe save $artifact.Argument $target /y 2>&1
    if ($LASTEXITCODE -ne 0) {
        Add-Missing $artifact ('reg save ' + $artifact.Argument + ' failed: ' + ($output -join ' '))
        return
    }
    Add-Copied $artifact ('reg save ' + $artifact.Argument)
}

function Copy-File($artifact, $sourceFolder, $targetFolder, $name) {
    $source = Join-Windows $sourceFolder $name
    if (-not [System.IO.File]::Exists($source)) {
        # A folder without its file is evidence too (a virtual directory without its
        # web.config): the folder is made in the copy.
        if ([System.IO.Directory]::Exists($sourceFolder)) { New-Folder $targetFolder }
        Add-Missing $artifact 'not on this server'
        return
    }
    Copy-Shared $source (Join-Windows $targetFolder $name)
    Add-Copied $artifact 'file'
}

# Every file of the folder matching the pattern (-like: `*` is the table's only wildcard),
# and when $starts is given only those whose text starts with one of them. Not recursive.
function Copy-Matching($artifact, $sourceFolder, $targetFolder, $pattern, $starts) {
    if (-not [System.IO.Directory]::Exists($sourceFolder)) {
        Add-Missing $artifact 'folder not on this server'
        return
    }
    $count = 0
    foreach ($file in [System.IO.Directory]::GetFiles($sourceFolder, $pattern)) {
        $name = [System.IO.Path]::GetFileName($file)
        # GetFiles also matches longer extensions (*.log finds a.log1); -like does not.
        if (-not ($name -like $pattern)) { continue }
        try {
            if ($starts -and -not (Test-Start $file $starts)) { continue }
            Copy-Shared $file (Join-Windows $targetFolder $name)
            $count += 1
        } catch {
            Add-Missing $artifact ($name + ': ' + $_.Exception.Message)
        }
    }
    if ($count -eq 0) {
        Add-Missing $artifact 'none found'
    } else {
        Add-Copied $artifact ('{0} files' -f $count)
    }
}

# Every file below the folder, recursively, whose name matches the pattern (the logs the
# indicator scans read), each at the same place below the target folder; when $extensions is
# given, only the files whose extension is one of them (-contains ignores case, as Windows).
function Copy-Tree($artifact, $sourceFolder, $targetFolder, $pattern, $extensions) {
    if (-not [System.IO.Directory]::Exists($sourceFolder)) {
        Add-Missing $artifact ($sourceFolder + ': folder not on this server')
        return
    }
    $count = 0
    $start = $sourceFolder.TrimEnd('\').Length + 1
    # Folder by folder (not AllDirectories, which throws on the first folder it cannot read
    # and loses the rest): a folder that cannot be listed is recorded, the others copied.
    $pending = New-Object System.Collections.Stack
    $pending.Push($sourceFolder)
    while ($pending.Count -gt 0) {
        $folder = $pending.Pop()
        try {
            $files = [System.IO.Directory]::GetFiles($folder, $pattern)
            $subfolders = [System.IO.Directory]::GetDirectories($folder)
        } catch {
            Add-Missing $artifact ($folder + ': not listed: ' + $_.Exception.Message)
            continue
        }
        foreach ($sub in $subfolders) {
            # A junction or link to a folder is not walked (it can loop); it is said.
            $link = $false
            try { $link = ([System.IO.File]::GetAttributes($sub) -band [System.IO.FileAttributes]::ReparsePoint) -ne 0 } catch { }
            if ($link) {
                Add-Missing $artifact ($sub + ': a link to a folder, not followed')
                continue
            }
            $pending.Push($sub)
        }
        foreach ($file in $files) {
            $name = [System.IO.Path]::GetFileName($file)
            if (-not ($name -like $pattern)) { continue }
            if ($extensions -and -not ($extensions -contains [System.IO.Path]::GetExtension($name).TrimStart('.'))) { continue }
            $relative = $file.Substring($start)
            try {
                Copy-Shared $file (Join-Windows $targetFolder $relative)
                $count += 1
            } catch {
                Add-Missing $artifact ($file + ': ' + $_.Exception.Message)
            }
        }
    }
    # A folder that is there but holds none is looked at, not missing.
    Add-Copied $artifact ('{0} files from {1}' -f $count, $sourceFolder)
}

function Export-EventLog($artifact, $target) {
    New-Folder ([System.IO.Path]::GetDirectoryName($target))
    $output = & wevtutil.exe epl $artifact.Argument $target /ow:true 2>&1
    if ($LASTEXITCODE -ne 0) {
        Add-Missing $artifact ('wevtutil epl ' + $artifact.Argument + ' failed: ' + ($output -join ' '))
        return
    }
    Add-Copied $artifact ('wevtutil epl ' + $artifact.Argument)
}

# The subfolders' names only, as empty folders: the reader reads nothing in them.
function Copy-Subfolders($artifact, $source, $target) {
    if (-not [System.IO.Directory]::Exists($source)) {
        Add-Missing $artifact 'folder not on this server'
        return
    }
    New-Folder $target
    $count = 0
    foreach ($folder in [System.IO.Directory]::GetDirectories($source)) {
        New-Folder (Join-Windows $target ([System.IO.Path]::GetFileName($folder)))
        $count += 1
    }
    Add-Copied $artifact ('{0} folder names' -f $count)
}

function Save-Sc($artifact, $target) {
    New-Folder ([System.IO.Path]::GetDirectoryName($target))
    $arguments = $artifact.Argument -split ' '
    $output = @(& sc.exe $arguments)
    if ($LASTEXITCODE -ne 0 -or $output.Count -eq 0) {
        Add-Missing $artifact ('sc ' + $artifact.Argument + ' failed: ' + ($output -join ' '))
        return
    }
    # UTF-8 with a byte order mark, which the collector reads.
    [System.IO.File]::WriteAllLines($target, [string[]] $output, [System.Text.Encoding]::UTF8)
    if (($output -join ' ') -match 'resume at index') {
        Add-Missing $artifact 'sc listed part of the services only (its buffer is too small)'
        return
    }
    Add-Copied $artifact ('sc ' + $artifact.Argument)
}

function Test-Under($path, $folder) {
    $folder = $folder.TrimEnd('\') + '\'
    return ($path.TrimEnd('\') + '\').StartsWith($folder, [System.StringComparison]::OrdinalIgnoreCase)
}

# --- Checks before anything is written ---

$principal = New-Object System.Security.Principal.WindowsPrincipal([System.Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Host 'Run this from an elevated PowerShell, as a local Administrator (reg save needs it).'
    exit 2
}
# A 32-bit PowerShell sees the 32-bit registry and System32 redirected: it would copy the
# wrong hive and miss the logs.
if ([IntPtr]::Size -eq 4 -and $env:PROCESSOR_ARCHITEW6432) {
    Write-Host 'Run this from the 64-bit PowerShell (C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe).'
    exit 2
}

$InstallPath = $null
foreach ($key in $SetupKeys) {
    $item = Get-ItemProperty -LiteralPath ('HKLM:\SOFTWARE\' + $key) -ErrorAction SilentlyContinue
    if ($item -and $item.PSObject.Properties[$InstallPathValue]) {
        $InstallPath = [string] $item.PSObject.Properties[$InstallPathValue].Value
        Write-Host ('Exchange install folder (HKLM\SOFTWARE\' + $key + '): ' + $InstallPath)
        break
    }
}
if (-not $InstallPath) {
    foreach ($default in $DefaultInstallPaths) {
        if ([System.IO.Directory]::Exists($default)) {
            $InstallPath = $default
            Write-Host ('Exchange install folder (no setup key; the default): ' + $InstallPath)
            break
        }
    }
}
# The install path is copied under its own drive letter: only a plain X:\ path can be, and a
# `..` would lead out of the copy.
if ($InstallPath -and ($InstallPath -notmatch '^[A-Za-z]:\\' -or $InstallPath -match '(^|\\)\.\.(\\|$)')) {
    Write-Host ('The install folder ' + $InstallPath + ' is not a plain X:\ path; its files are not copied.')
    $InstallPath = $null
}

if (-not [System.IO.Path]::IsPathRooted($Out)) {
    $Out = [System.IO.Path]::Combine((Get-Location).ProviderPath, $Out)
}
$Out = [System.IO.Path]::GetFullPath($Out)
$protected = @($env:SystemRoot)
if ($InstallPath) { $protected += $InstallPath }
foreach ($folder in $protected) {
    if (Test-Under $Out $folder) {
        Write-Host ('-Out ' + $Out + ' is under ' + $folder + ': the server is only read. Choose another folder.')
        exit 2
    }
}
# A copy left by an earlier run would mix its files (an old saved service state) with this one.
if ([System.IO.File]::Exists($Out) -or ([System.IO.Directory]::Exists($Out) -and [System.IO.Directory]::GetFileSystemEntries($Out).Length -gt 0)) {
    Write-Host ('-Out ' + $Out + ' exists and is not an empty folder. Choose a new one.')
    exit 2
}

# --- The copy ---

$SystemDrive = $env:SystemDrive + '\'
$SystemTarget = Join-Windows $Out 'C'
# Made first: a C folder holding Windows is how the collector tells the drive-letter layout.
New-Folder (Join-Windows $SystemTarget 'Windows')
if ($InstallPath) {
    $InstallTarget = Join-Windows (Join-Windows $Out $InstallPath.Substring(0, 1).ToUpper()) $InstallPath.Substring(3)
}
Write-Host ('Staging ' + $env:COMPUTERNAME + ' into ' + $Out)

# Copies one artifact from below $sourceBase to the same place below $targetBase.
function Copy-Artifact($artifact, $sourceBase, $targetBase) {
    # A path's last component may be a pattern: it is never joined to a folder as a path.
    $at = $artifact.Path.LastIndexOf('\')
    $name = $artifact.Path.Substring($at + 1)
    $folderPart = ''
    if ($at -ge 0) { $folderPart = $artifact.Path.Substring(0, $at) }
    $sourceFolder = Join-Windows $sourceBase $folderPart
    $targetFolder = Join-Windows $targetBase $folderPart
    try {
        switch ($artifact.Capture) {
            'RegSave' { Save-Hive $artifact (Join-Windows $targetFolder $name) }
            'File' { Copy-File $artifact $sourceFolder $targetFolder $name }
            'Matching' { Copy-Matching $artifact $sourceFolder $targetFolder $name $null }
            'MatchingText' { Copy-Matching $artifact $sourceFolder $targetFolder $name $artifact.Argument }
            'EventLog' { Export-EventLog $artifact (Join-Windows $targetFolder $name) }
            'Subfolders' { Copy-Subfolders $artifact (Join-Windows $sourceFolder $name) (Join-Windows $targetFolder $name) }
            'Sc' { Save-Sc $artifact (Join-Windows $targetFolder $name) }
            'Tree' { Copy-Tree $artifact $sourceFolder $targetFolder $name $null }
            'TreeExtensions' { Copy-Tree $artifact $sourceFolder $targetFolder $name $artifact.Argument }
            default { Add-Missing $artifact ('this script does not know how to copy ' + $artifact.Capture) }
        }
    } catch {
        Add-Missing $artifact $_.Exception.Message
    }
}

# The root folder of every web site applicationHost.config names (the root virtual directory
# of the site's root application), environment variables expanded, each once, ending with \.
# Only a plain X:\ path can be copied under its drive letter: any other root is recorded
# missing for $artifact, with why. The default site's root only when no site was read (the
# file missing, unreadable, or naming none): when sites were read, it may be no site's root.
function Get-SiteRoots($artifact) {
    $roots = @()
    $sites = 0
    $config = Join-Windows $SystemDrive $IisConfigPath
    try {
        $xml = New-Object System.Xml.XmlDocument
        $xml.Load($config)
        $sites = $xml.SelectNodes('/configuration/system.applicationHost/sites/site').Count
        foreach ($vdir in $xml.SelectNodes("/configuration/system.applicationHost/sites/site/application[@path='/']/virtualDirectory[@path='/']")) {
            $path = $vdir.GetAttribute('physicalPath')
            if ($path) { $roots += [System.Environment]::ExpandEnvironmentVariables($path).Replace('/', '\') }
        }
    } catch {
        Write-Host ('  applicationHost.config not read (' + $_.Exception.Message + '): the default web site root only')
    }
    if ($sites -eq 0) { $roots = @((Join-Windows $SystemDrive $DefaultSiteRoot)) }
    $unique = @()
    foreach ($root in $roots) {
        # Tested before the trailing \ goes: D:\ is a root, D: is not.
        if ($root -notmatch '^[A-Za-z]:\\' -or $root -match '(^|\\)\.\.(\\|$)' -or $root.Contains('%')) {
            Add-Missing $artifact ('the web site root ' + $root + ' is not a plain X:\ path; its files are not copied')
            continue
        }
        $root = $root.TrimEnd('\') + '\'
        # -contains compares without case, as Windows compares paths.
        if (-not ($unique -contains $root)) { $unique += $root }
    }
    return $unique
}

foreach ($artifact in $Artifacts) {
    if ($artifact.Base -eq 'Install') {
        if (-not $InstallPath) {
            Add-Missing $artifact 'no Exchange install folder'
            continue
        }
        Copy-Artifact $artifact $InstallPath $InstallTarget
    } elseif ($artifact.Base -eq 'SiteRoot') {
        foreach ($root in @(Get-SiteRoots $artifact)) {
            # The system drive's files go under C\ whatever its letter; another drive's under
            # its own letter. $root ends with \ (D:\ is a drive's root).
            $letter = $root.Substring(0, 1).ToUpper()
            if ($root.Substring(0, 2) -eq $env:SystemDrive) { $letter = 'C' }
            Copy-Artifact $artifact $root (Join-Windows (Join-Windows $Out $letter) $root.Substring(3))
        }
    } else {
        Copy-Artifact $artifact $SystemDrive $SystemTarget
    }
}

# --- What was done, and what to run next ---

$report = @('exfleet stage-triage.ps1 on ' + $env:COMPUTERNAME + ' at ' + (Get-Date).ToUniversalTime().ToString('u'))
$report += ('Exchange install folder: ' + $InstallPath)
$report += ''
$report += ('Copied ({0}):' -f $script:Copied.Count)
$report += $script:Copied
$report += ''
$report += ('Missing ({0}):' -f $script:Missing.Count)
$report += $script:Missing
[System.IO.File]::WriteAllLines((Join-Windows $Out 'stage-report.txt'), [string[]] $report, [System.Text.Encoding]::UTF8)

Write-Host ''
Write-Host ('Done: {0} copied, {1} missing (listed above and in {2}).' -f $script:Copied.Count, $script:Missing.Count, (Join-Windows $Out 'stage-report.txt'))
Write-Host 'Move the folder to a machine with exfleet-collector, and read it there with a triage'
Write-Host 'certificate (one the aggregator configuration lists under [[triage]], with this host'
Write-Host 'in its hosts), giving --root the folder''s path on that machine:'
Write-Host ''
Write-Host ('  exfleet-collector collect --root "' + $Out + '" --aggregator ' + $Aggregator + ' --ca ca.pem --cert <triage>.pem --key <triage>.key')
Write-Host ''
Write-Host 'or, to a snapshot file:'
Write-Host ('  exfleet-collector collect --root "' + $Out + '" --out ' + $env:COMPUTERNAME + '.pb')
exit 0
