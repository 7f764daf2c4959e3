package org.ssl4mis.data.prepare;

import java.nio.file.Path;
import java.util.List;

/**
 * What a preparation wrote.
 *
 * @param root the output folder
 * @param layout {@code acdc} or {@code la}
 * @param train the cases of the training list, in list order
 * @param val the cases of the validation list
 * @param test the cases of the test list
 * @param caseFiles the number of per-case files (ACDC volumes or LA {@code mri_norm2.h5})
 * @param sliceFiles the number of ACDC slice files
 * @param lists the list files written
 * @param notes things the user should know (skipped files, the split used)
 */
public record PrepareReport(Path root, String layout, List<String> train, List<String> val, List<String> test,
    int caseFiles, int sliceFiles, List<Path> lists, List<String> notes) {
  public PrepareReport {
    train = List.copyOf(train);
    val = List.copyOf(val);
    test = List.copyOf(test);
    lists = List.copyOf(lists);
    notes = List.copyOf(notes);
  }
}
