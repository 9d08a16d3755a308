// ScanHive's bundled YARA rules: test files every scanner must recognise.
rule EICAR_Test_File
{
    meta:
        description = "EICAR anti-malware test file"
        verdict = "malicious"
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
    strings:
        // the 68-byte EICAR string, as hex so this rule file is not itself flagged
        $eicar = { 58 35 4f 21 50 25 40 41 50 5b 34 5c 50 5a 58 35 34 28 50 5e 29 37 43 43 29 37 7d 24 45 49 43 41 52 2d 53 54 41 4e 44 41 52 44 2d 41 4e 54 49 56 49 52 55 53 2d 54 45 53 54 2d 46 49 4c 45 21 24 48 2b 48 2a }
    condition:
        $eicar at 0
}
